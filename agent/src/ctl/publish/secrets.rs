//! What looks like key material: the test the publisher puts to every field
//! it does not know before dropping it, and to the finished bundle.
//!
//! Deliberately broad (a false alarm stops a publication with a message
//! naming the field; a miss could publish a secret): PEM blocks, `PRIVATE
//! KEY`, crypt-style password hashes (`$2a$...`, `$6$...`, `$argon2id$...`),
//! and base64 or hex runs that carry 32 bytes or more.

/// The fewest bytes a base64 or hex run must carry to count as key material.
const MIN_BLOB_BYTES: usize = 32;

/// Why `text` looks like key material, or `None`.
pub(crate) fn key_material(text: &str) -> Option<&'static str> {
    if text.contains("-----BEGIN ") {
        return Some("a PEM block");
    }
    if text.contains("PRIVATE KEY") {
        return Some("the words PRIVATE KEY");
    }
    if text.split_whitespace().any(is_crypt_hash) {
        return Some("a password hash");
    }
    let runs = |is_char: fn(char) -> bool| {
        text.split(move |c: char| !is_char(c))
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>()
    };
    if runs(|c| c.is_ascii_hexdigit())
        .iter()
        .any(|r| r.len() >= 2 * MIN_BLOB_BYTES)
    {
        return Some("a long hex string");
    }
    if runs(is_base64_char).iter().any(|r| is_base64_blob(r)) {
        return Some("a long base64 string");
    }
    None
}

/// Whether the finished bundle text carries something that is never public:
/// a private key's PEM armour or a crypt-style password hash. (Public key
/// blobs are expected there, so the blob rules do not apply.)
pub(crate) fn unmistakable_secret(text: &str) -> Option<&'static str> {
    if text.contains("PRIVATE KEY") {
        return Some("the words PRIVATE KEY");
    }
    if text
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .any(is_crypt_hash)
    {
        return Some("a password hash");
    }
    None
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')
}

/// A run of base64 characters (padding cut off by the split) long enough
/// for 32 bytes (43 characters), of one alphabet (standard `+/` or URL-safe
/// `-_`), and not a plain word or path: it has a digit or mixes cases.
fn is_base64_blob(run: &str) -> bool {
    let run = run.trim_start_matches(['/', '-', '_']);
    let standard = run.contains(['+', '/']);
    let url_safe = run.contains(['-', '_']);
    let digit = run.chars().any(|c| c.is_ascii_digit());
    let upper = run.chars().any(|c| c.is_ascii_uppercase());
    let lower = run.chars().any(|c| c.is_ascii_lowercase());
    run.len() >= BASE64_CHARS_FOR_MIN && !(standard && url_safe) && (digit || (upper && lower))
}

/// Base64 characters (unpadded) that carry [`MIN_BLOB_BYTES`].
const BASE64_CHARS_FOR_MIN: usize = (MIN_BLOB_BYTES * 4).div_ceil(3);

/// `$2a$10$...`, `$2b$`, `$2y$`, `$5$`, `$6$`, `$y$`, `$argon2id$`, `$scrypt$`,
/// `$pbkdf2-sha256$`.
fn is_crypt_hash(word: &str) -> bool {
    let Some(rest) = word.strip_prefix('$') else {
        return false;
    };
    let Some((id, tail)) = rest.split_once('$') else {
        return false;
    };
    let known = matches!(
        id,
        "1" | "2" | "2a" | "2b" | "2x" | "2y" | "5" | "6" | "y" | "7"
    ) || id.starts_with("argon2")
        || id.starts_with("scrypt")
        || id.starts_with("pbkdf2");
    known && tail.len() >= 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    #[test]
    fn key_material_is_recognised() {
        let b64_32 = STANDARD.encode(
            [7u8; 20]
                .iter()
                .chain(&[200u8; 12])
                .copied()
                .collect::<Vec<_>>(),
        );
        for (text, why) in [
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                "a PEM block",
            ),
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "a PEM block"),
            ("RSA PRIVATE KEY", "the words PRIVATE KEY"),
            (
                "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
                "a password hash",
            ),
            (
                "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA",
                "a password hash",
            ),
            (&"0123456789abcdef".repeat(4), "a long hex string"),
            (&b64_32, "a long base64 string"),
            (
                &format!("key={}", URL_SAFE_NO_PAD.encode([9u8; 40])),
                "a long base64 string",
            ),
        ] {
            assert_eq!(key_material(text), Some(why), "{text}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        for text in [
            "alice",
            "2024-05-01T10:00:00Z",
            "8c3d2f0a-9b7e-4c1d-a2f3-5e6b7c8d9e0f",
            "/var/lib/teleport/host_uuid/and/some/longer/path/names",
            "teleport.internal/resource-id",
            "0123456789abcdef0123456789abcdef",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "The quick brown fox jumps over the lazy dog, twice over.",
            "$HOME/bin",
        ] {
            assert_eq!(key_material(text), None, "{text}");
        }
    }

    #[test]
    fn the_finished_bundle_is_checked_for_secrets_that_are_never_public() {
        assert!(unmistakable_secret(r#"{"a":"-----BEGIN EC PRIVATE KEY-----"}"#).is_some());
        assert!(unmistakable_secret(r#"{"h":"$2b$12$abcdefghijklmnopqrstuv"}"#).is_some());
        assert!(unmistakable_secret(
            r#"{"cert":"-----BEGIN CERTIFICATE-----","k":"AAAAC3NzaC1lZDI1NTE5AAAAIA"}"#
        )
        .is_none());
    }
}
