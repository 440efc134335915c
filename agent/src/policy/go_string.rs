//! Go's interpreted string literals (`"..."`), as Teleport reads the string
//! arguments of trait templates and `node_labels_expression`: Go's
//! go/scanner (`scanEscape`) checks them and strconv (`Unquote`,
//! `UnquoteChar`) gives their value.
//!
//! Escapes: `\a \b \f \n \r \t \v \\ \"`, `\xHH` and octal `\OOO` (exactly
//! two and three digits, a byte up to 255), `\uHHHH` and `\UHHHHHHHH` (a code
//! point, no surrogate, at most U+10FFFF). `\'` and anything else are
//! errors. Bytes from `\x`/octal that do not form UTF-8 are an error here:
//! Go keeps such a string, but no label or trait value (UTF-8) can equal it
//! and Go's regexp refuses it, where a stand-in character could match.

/// Where in the body an escape is invalid (byte offset) and why.
pub(crate) type UnquoteError = (usize, String);

/// The byte offset of the closing `"` in `body` (the text after the
/// opening quote), or `None` when the literal is not terminated on its line.
pub(crate) fn closing_quote(body: &str) -> Option<usize> {
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some(i),
            '\n' => return None,
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    None
}

/// The value of the literal whose text between the quotes is `body`.
pub(crate) fn unquote(body: &str) -> Result<String, UnquoteError> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    // Where the first escape of a byte above 0x7f is (the UTF-8 check).
    let mut high_byte_at: Option<usize> = None;
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        let at = body.len() - rest.len();
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let (used, value) = escape(&rest[1..]).map_err(|e| (at, e))?;
        match value {
            Escaped::Byte(b) => {
                if b > 0x7f {
                    high_byte_at.get_or_insert(at);
                }
                out.push(b)
            }
            Escaped::Char(ch) => {
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        }
        rest = &rest[1 + used..];
    }
    String::from_utf8(out).map_err(|_| {
        (
            high_byte_at.unwrap_or_default(),
            "escapes that do not form UTF-8: no label or trait value can equal the string, and Go's regexp refuses it".to_owned(),
        )
    })
}

enum Escaped {
    Byte(u8),
    Char(char),
}

/// One escape after its backslash: how many bytes it used, and its value.
fn escape(s: &str) -> Result<(usize, Escaped), String> {
    let Some(c) = s.chars().next() else {
        return Err("escape sequence not terminated".to_owned());
    };
    let simple = match c {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0C),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0B),
        '\\' => Some(b'\\'),
        '"' => Some(b'"'),
        _ => None,
    };
    if let Some(b) = simple {
        return Ok((1, Escaped::Byte(b)));
    }
    let digits = |n: usize, radix: u32| -> Result<u32, String> {
        let text = s
            .get(1..1 + n)
            .filter(|t| t.chars().all(|d| d.is_digit(radix)));
        let text =
            text.ok_or_else(|| format!("invalid escape sequence \\{c} (needs {n} digits)"))?;
        u32::from_str_radix(text, radix).map_err(|e| e.to_string())
    };
    match c {
        'x' => Ok((3, Escaped::Byte(digits(2, 16)? as u8))),
        'u' | 'U' => {
            let n = if c == 'u' { 4 } else { 8 };
            let cp = digits(n, 16)?;
            let ch = char::from_u32(cp).ok_or_else(|| {
                format!("escape sequence \\{c}{cp:X} is an invalid Unicode code point")
            })?;
            Ok((1 + n, Escaped::Char(ch)))
        }
        '0'..='7' => {
            let text = s
                .get(0..3)
                .filter(|t| t.chars().all(|d| ('0'..='7').contains(&d)));
            let text = text.ok_or("invalid octal escape sequence (needs 3 digits)")?;
            let value = u32::from_str_radix(text, 8).map_err(|e| e.to_string())?;
            let byte =
                u8::try_from(value).map_err(|_| format!("octal escape \\{text} is over 255"))?;
            Ok((3, Escaped::Byte(byte)))
        }
        other => Err(format!("unknown escape sequence \\{other}")),
    }
}

/// The length in bytes of the Go identifier `s` starts with (0: none), as
/// go/scanner reads one, which Teleport's template and expression parsers
/// use: a Unicode letter or `_`, then letters, `_` and decimal digits
/// (categories L and Nd).
pub(crate) fn identifier_len(s: &str) -> usize {
    static GO_IDENTIFIER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[\p{L}_][\p{L}\p{Nd}_]*").expect("a valid regex")
    });
    // ASCII names (nearly all) without the regex; a name that goes on past
    // its ASCII part is matched whole by it.
    let ascii = s
        .bytes()
        .enumerate()
        .take_while(|&(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()))
        .count();
    match s.as_bytes().get(ascii) {
        Some(b) if !b.is_ascii() => GO_IDENTIFIER.find(s).map_or(0, |m| m.end()),
        _ => ascii,
    }
}

#[cfg(test)]
mod tests {
    use super::{closing_quote, identifier_len, unquote};

    /// Go's strconv.Unquote on the same literals.
    #[test]
    fn escapes_as_go_reads_them() {
        let cases: &[(&str, &str)] = &[
            (r"plain", "plain"),
            (r#"\a\b\f\n\r\t\v\\\""#, "\u{7}\u{8}\u{c}\n\r\t\u{b}\\\""),
            (r"\x40example", "@example"),
            (r"pr\u006fd", "prod"),
            (r"\U0001F600", "\u{1F600}"),
            (r"\141\060", "a0"),
            (r"\303\251", "\u{e9}"), // two bytes that form UTF-8
            (r"\xc3\xa9", "\u{e9}"),
            ("\u{e9}t\u{e9}", "\u{e9}t\u{e9}"),
        ];
        for (body, want) in cases {
            assert_eq!(unquote(body).as_deref(), Ok(*want), "{body}");
        }
    }

    #[test]
    fn what_go_refuses() {
        for body in [
            r"\'",
            r"\q",
            r"\x4",
            r"\xZZ",
            r"\u12",
            r"\uD800",
            r"\U00110000",
            r"\8",
            r"\12",
            r"\400",
            r"a\",
            r"\xff", // not UTF-8
        ] {
            assert!(unquote(body).is_err(), "{body}: {:?}", unquote(body));
        }
        assert_eq!(unquote(r"ab\q").unwrap_err().0, 2);
        assert_eq!(unquote(r"ok\xff").unwrap_err().0, 2);
    }

    #[test]
    fn identifiers_as_go_scans_them() {
        assert_eq!(identifier_len("logins}}"), 6);
        assert_eq!(identifier_len("_a1 x"), 3);
        assert_eq!(identifier_len("1a"), 0);
        assert_eq!(identifier_len("\u{e9}quipe.x"), "\u{e9}quipe".len());
        assert_eq!(identifier_len("t\u{663}"), "t\u{663}".len());
        assert_eq!(identifier_len("a\u{2026}"), 1);
    }

    #[test]
    fn the_closing_quote_skips_escaped_ones() {
        assert_eq!(closing_quote(r#"a\"b" rest"#), Some(4));
        assert_eq!(closing_quote(r#"a\\" rest"#), Some(3));
        assert_eq!(closing_quote("a\nb\""), None);
        assert_eq!(closing_quote(r"abc\"), None);
    }
}
