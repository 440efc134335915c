//! One authorized_keys line as sshd reads it, for one key.
//!
//! sshd (auth2-pubkeyfile.c, auth-options.c) uses the first line whose key
//! matches AND whose options parse and pass (`from=`, `expiry-time=`...); a
//! line with an option it cannot parse is skipped, and the next line for the
//! same key is used. So the agent only trusts a line it reads exactly as sshd
//! does: anything it is not sure of (an unknown option, a `\"` inside quotes,
//! a blob that decodes to more than the key) is `Uncertain`, and a line sshd
//! may skip depending on the connection is `restricted`.

use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// What one line says about the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineMatch {
    /// The line does not name the key.
    NoMatch,
    /// The line names the key but sshd never uses it for a plain key
    /// (`cert-authority`).
    Skipped,
    /// The line lists the key with these options.
    Listed(LineOptions),
    /// The line mentions the key in a way the agent cannot read exactly as
    /// sshd does.
    Uncertain(String),
}

/// The options that matter for crediting a touch or PIN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineOptions {
    pub no_touch_required: bool,
    pub verify_required: bool,
    /// Options that make sshd pass or skip the line per connection
    /// (`from=`, `expiry-time=`, `principals=`): sshd may have used another
    /// line for the key.
    pub restricted: Vec<String>,
}

/// Base64 as OpenSSH's b64_pton reads it, and more leniently (padding
/// optional, trailing bits ignored): used to find every spelling of the key.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a key blob written in base64 (the registered key's form).
pub fn decode_blob(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text).ok().filter(|b| !b.is_empty())
}

/// Whether `text` is `key` written plainly: canonical, padded base64.
pub fn is_plain_blob(key: &[u8], text: &str) -> bool {
    LENIENT.encode(key) == text
}

/// C's `isspace` in the C locale, which OpenSSH's b64_pton skips anywhere
/// in a key blob: Rust's `is_ascii_whitespace` leaves out the vertical tab,
/// so a blob split by one would be a key sshd reads and the agent does not
/// see.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn decodes_to_key(word: &str, key: &[u8]) -> bool {
    let word: String = word.chars().filter(|c| !is_c_space(*c)).collect();
    !word.is_empty()
        && LENIENT
            .decode(word.trim_end_matches('='))
            .is_ok_and(|b| b.starts_with(key))
}

/// Whether any word of the line (split as sshd splits a blob, or at any
/// character outside base64) decodes to the key or to the key and more.
fn mentions(line: &str, key: &[u8]) -> bool {
    line.split([' ', '\t']).any(|w| decodes_to_key(w, key))
        || line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
            .any(|w| decodes_to_key(w, key))
}

/// Reads `line` for the key `key_type` + `key` (the decoded blob).
pub fn match_line(line: &str, key_type: &str, key: &[u8]) -> LineMatch {
    let line = line.trim_start_matches([' ', '\t']);
    let line = line.trim_end_matches(['\n', '\r']);
    if line.is_empty() || line.starts_with('#') || !mentions(line, key) {
        return LineMatch::NoMatch;
    }
    let (options, rest) = match split_options(line, key_type) {
        Ok(parts) => parts,
        Err(why) => return LineMatch::Uncertain(why),
    };
    let mut words = rest.split([' ', '\t']).filter(|w| !w.is_empty());
    let (Some(t), Some(b)) = (words.next(), words.next()) else {
        return LineMatch::Uncertain("no key after the options".into());
    };
    if t != key_type {
        return LineMatch::Uncertain(format!("names the key with type '{t}'"));
    }
    if b.contains(is_c_space) || decode_blob(b).as_deref() != Some(key) || !is_plain_blob(key, b) {
        return LineMatch::Uncertain("the key's base64 is not written plainly".into());
    }
    read_options(options)
}

/// `[options] type blob comment` → (options, `type blob comment`). The
/// options end at the first blank outside double quotes; a backslash in
/// them (sshd's `\"`) is not guessed at.
fn split_options<'a>(line: &'a str, key_type: &str) -> Result<(&'a str, &'a str), String> {
    let first = line.split([' ', '\t']).next().unwrap_or("");
    if first == key_type {
        return Ok(("", line));
    }
    if line.contains('\\') {
        return Err("a backslash (escaped quote) in the options".into());
    }
    let mut in_quote = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ' ' | '\t' if !in_quote => {
                return Ok((&line[..i], line[i..].trim_start_matches([' ', '\t'])))
            }
            _ => {}
        }
    }
    Err(if in_quote {
        "an unterminated quote".into()
    } else {
        "no key after the options".into()
    })
}

/// Flags sshd accepts that say nothing about touch or PIN (each also with
/// `no-` where sshd allows it).
const NEUTRAL_FLAGS: &[&str] = &[
    "restrict",
    "agent-forwarding",
    "no-agent-forwarding",
    "port-forwarding",
    "no-port-forwarding",
    "pty",
    "no-pty",
    "user-rc",
    "no-user-rc",
    "x11-forwarding",
    "no-x11-forwarding",
];

/// Options whose check depends on the connection or the clock.
const RESTRICTING: &[&str] = &["from", "expiry-time", "principals"];

fn read_options(options: &str) -> LineMatch {
    let mut out = LineOptions::default();
    let mut cert_authority = false;
    for opt in split_option_list(options) {
        let (name, value) = match opt.split_once('=') {
            Some((n, v)) => (n.to_ascii_lowercase(), Some(v)),
            None => (opt.to_ascii_lowercase(), None),
        };
        match (name.as_str(), value) {
            ("cert-authority", None) => cert_authority = true,
            ("touch-required", None) => out.no_touch_required = false,
            ("no-touch-required", None) => out.no_touch_required = true,
            ("verify-required", None) => out.verify_required = true,
            ("no-verify-required", None) => out.verify_required = false,
            (n, None) if NEUTRAL_FLAGS.contains(&n) => {}
            ("command", Some(v)) if is_quoted(v) => {}
            (n, Some(v)) if RESTRICTING.contains(&n) && is_quoted(v) => {
                out.restricted.push(n.into())
            }
            _ => return LineMatch::Uncertain(format!("option '{opt}' is not one the agent reads")),
        }
    }
    if cert_authority {
        return LineMatch::Skipped;
    }
    LineMatch::Listed(out)
}

fn is_quoted(v: &str) -> bool {
    v.len() >= 2 && v.starts_with('"') && v.ends_with('"') && !v[1..v.len() - 1].contains('"')
}

/// `a,b="x,y",c` → [`a`, `b="x,y"`, `c`] (quotes kept).
fn split_option_list(options: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    for (i, c) in options.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            ',' if !in_quote => {
                out.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !options.is_empty() {
        out.push(&options[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "sk-ssh-ed25519@openssh.com";
    /// A real-looking blob: any bytes do.
    const KEY: &[u8] = b"\0\0\0\x1ask-ssh-ed25519@openssh.com\0\0\0\x20abcdefghijklmnopqrstuvwxyz012345\0\0\0\x04ssh:";

    fn b64() -> String {
        LENIENT.encode(KEY)
    }

    fn listed(no_touch: bool, verify: bool, restricted: &[&str]) -> LineMatch {
        LineMatch::Listed(LineOptions {
            no_touch_required: no_touch,
            verify_required: verify,
            restricted: restricted.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn plain_and_optioned_lines() {
        let k = b64();
        assert_eq!(
            match_line(&format!("{T} {k} me"), T, KEY),
            listed(false, false, &[])
        );
        assert_eq!(
            match_line(
                &format!("  verify-required,No-Touch-Required {T} {k}"),
                T,
                KEY
            ),
            listed(true, true, &[])
        );
        assert_eq!(
            match_line(
                &format!("command=\"echo a, b\",restrict,pty {T} {k}"),
                T,
                KEY
            ),
            listed(false, false, &[])
        );
        assert_eq!(
            match_line(&format!("no-touch-required,touch-required {T} {k}"), T, KEY),
            listed(false, false, &[]),
            "the last word wins, as in sshd"
        );
        assert_eq!(
            match_line(&format!("# {T} {k}"), T, KEY),
            LineMatch::NoMatch
        );
        assert_eq!(
            match_line(&format!("{T} AAAAother"), T, KEY),
            LineMatch::NoMatch
        );
        assert_eq!(
            match_line(&format!("cert-authority {T} {k}"), T, KEY),
            LineMatch::Skipped
        );
    }

    #[test]
    fn restricted_lines_say_so() {
        let k = b64();
        assert_eq!(
            match_line(
                &format!("from=\"203.0.113.1\",verify-required {T} {k}"),
                T,
                KEY
            ),
            listed(false, true, &["from"])
        );
        assert_eq!(
            match_line(&format!("expiry-time=\"20200101\" {T} {k}"), T, KEY),
            listed(false, false, &["expiry-time"])
        );
    }

    #[test]
    fn what_the_agent_cannot_read_as_sshd_is_uncertain() {
        let k = b64();
        let uncertain = |line: String| {
            assert!(
                matches!(match_line(&line, T, KEY), LineMatch::Uncertain(_)),
                "{line}"
            )
        };
        // sshd reads \" as a quote inside the value: where the options end
        // is not guessed.
        uncertain(format!("command=\"echo \\\" x\",no-touch-required {T} {k}"));
        uncertain(format!("from=\"a\\\"b\" verify-required {T} {k}"));
        uncertain(format!("command=\"open {T} {k}"));
        // sshd skips a line whose options it cannot parse.
        uncertain(format!("verify-required,bogus {T} {k}"));
        uncertain(format!("verify-required=yes {T} {k}"));
        uncertain(format!("environment=\"A=b\",verify-required {T} {k}"));
        uncertain(format!("tunnel=\"x\" {T} {k}"));
        // The key under another type name, or spelled unusually.
        uncertain(format!("ssh-ed25519 {k}"));
        let unpadded = k.trim_end_matches('=').to_string();
        if unpadded != k {
            uncertain(format!("{T} {unpadded}"));
        }
        uncertain(format!("{T} {}", LENIENT.encode([KEY, b"more"].concat())));
        // Mentioned only inside an option value.
        uncertain(format!("command=\"{k}\" {T} AAAAother"));
        // sshd's base64 decoder skips every C space inside the blob, the
        // vertical tab and form feed included: the line is its key.
        for space in ['\x0b', '\x0c', '\r', '\n'] {
            let (head, tail) = k.split_at(20);
            uncertain(format!("no-touch-required {T} {head}{space}{tail}"));
        }
    }

    #[test]
    fn option_list_keeps_quoted_commas() {
        assert_eq!(
            split_option_list("a,b=\"x,y\",c"),
            vec!["a", "b=\"x,y\"", "c"]
        );
        assert!(split_option_list("").is_empty());
    }
}
