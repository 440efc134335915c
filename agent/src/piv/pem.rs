//! PEM `CERTIFICATE` blocks to DER.

use base64::Engine as _;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Every `CERTIFICATE` block in `text`, in order, as DER. Text outside the
/// blocks (comments) is ignored; other PEM block types are an error.
pub fn certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        match &mut body {
            None if line == BEGIN => body = Some(String::new()),
            None if line.starts_with("-----BEGIN ") => {
                return Err(format!("line {}: {line} is not a certificate", n + 1))
            }
            None => {}
            Some(b) if line == END => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .map_err(|e| format!("line {}: certificate is not valid base64: {e}", n + 1))?;
                out.push(der);
                body = None;
            }
            Some(_) if line.starts_with("-----") => {
                return Err(format!("line {}: {line} inside a certificate", n + 1))
            }
            Some(b) => b.push_str(line),
        }
    }
    if body.is_some() {
        return Err(format!("{BEGIN} without {END}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::certificates;

    #[test]
    fn blocks() {
        let t = "# c\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\nx\n-----BEGIN CERTIFICATE-----\nBA==\n-----END CERTIFICATE-----\n";
        assert_eq!(certificates(t).unwrap(), vec![vec![0, 1, 2, 3], vec![4]]);
        assert_eq!(certificates("no pem").unwrap(), Vec::<Vec<u8>>::new());
        for (bad, want) in [
            ("-----BEGIN CERTIFICATE-----\nAAEC\n", "without"),
            (
                "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----",
                "line 3: certificate is not valid base64",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\n",
                "line 1: -----BEGIN PRIVATE KEY----- is not a certificate",
            ),
        ] {
            let e = certificates(bad).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
