//! `cluster.ca_pins` and `cluster.signing_keys` in agent.yaml: the keys a
//! pull is checked against.

use serde::Deserialize;

/// `sha256:HEX` (64 hex digits, any case, `:` separators allowed as tctl
/// and openssl print them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPin(pub [u8; 32]);

impl CaPin {
    pub fn parse(text: &str) -> Result<CaPin, String> {
        let hex = text.trim().strip_prefix("sha256:").ok_or_else(|| {
            format!("ca pin '{text}' must be sha256:HEX (the SHA-256 of the certificate's SubjectPublicKeyInfo)")
        })?;
        let hex: String = hex.chars().filter(|c| *c != ':').collect();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "ca pin '{text}': expected 64 hex digits after sha256:"
            ));
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex");
        }
        Ok(CaPin(out))
    }
}

impl<'de> Deserialize<'de> for CaPin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CaPin::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A bundle signing key as written in agent.yaml: `ed25519:BASE64` (the
/// 32-byte raw key) or an OpenSSH `ssh-ed25519 AAAA... comment` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyText {
    pub text: String,
    pub key: [u8; 32],
}

impl<'de> Deserialize<'de> for SigningKeyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let key = crate::sync::parse_signing_key(&s).map_err(serde::de::Error::custom)?;
        Ok(SigningKeyText { text: s, key })
    }
}
