//! The publisher's signing key: an unencrypted OpenSSH Ed25519 private key,
//! as `ssh-keygen -t ed25519 -N ''` writes it.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use zeroize::Zeroizing;

/// The key, and its public line for agents' `cluster.signing_keys`.
pub struct PublishKey {
    key: SigningKey,
    /// `ssh-ed25519 AAAA... comment`.
    pub public_line: String,
}

impl std::fmt::Debug for PublishKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublishKey({})", self.public_line)
    }
}

impl PublishKey {
    /// Reads the key file.
    pub fn load(path: &Path) -> Result<PublishKey, String> {
        let shown = path.display();
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "mfactl publish: warning: signing key {shown} is readable by others than its owner (chmod 600 it): whoever reads it can sign policies every agent accepts"
                );
            }
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| format!("signing key {shown}: {e}"))?,
        );
        PublishKey::from_openssh(&text).map_err(|e| format!("signing key {shown}: {e}"))
    }

    /// Parses the key text.
    pub fn from_openssh(text: &str) -> Result<PublishKey, String> {
        let key = ssh_key::PrivateKey::from_openssh(text).map_err(|e| {
            format!("not an OpenSSH private key ({e}); make one with ssh-keygen -t ed25519 -N ''")
        })?;
        if key.is_encrypted() {
            return Err(
                "the key is encrypted: the publisher runs unattended and needs a key without a passphrase (ssh-keygen -t ed25519 -N '')"
                    .into(),
            );
        }
        let pair = key.key_data().ed25519().ok_or_else(|| {
            format!(
                "a {} key, not Ed25519 (ssh-keygen -t ed25519 -N '')",
                key.algorithm()
            )
        })?;
        let seed = Zeroizing::new(pair.private.to_bytes());
        let signing = SigningKey::from_bytes(&seed);
        if signing.verifying_key().to_bytes() != pair.public.0 {
            return Err("its public half does not match its private half".into());
        }
        let public_line = key
            .public_key()
            .to_openssh()
            .map_err(|e| format!("cannot write its public key: {e}"))?;
        Ok(PublishKey {
            key: signing,
            public_line,
        })
    }

    /// Base64 of the 64-byte Ed25519 signature over `bytes` (the text form
    /// `sync::verify_bundle_signature` reads), with a final newline.
    pub fn sign(&self, bytes: &[u8]) -> String {
        format!("{}\n", STANDARD.encode(self.key.sign(bytes).to_bytes()))
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{parse_signing_key, verify_bundle_signature};

    /// `ssh-keygen -t ed25519 -N '' -C test` output (a test key, nothing else).
    pub(crate) const TEST_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBspphkGrfup8SO0T97nWHz+kuAk1INHGM+49UlFn/V4gAAAIiT823ik/Nt
4gAAAAtzc2gtZWQyNTUxOQAAACBspphkGrfup8SO0T97nWHz+kuAk1INHGM+49UlFn/V4g
AAAEBICYOSY7/UX64qD8luIf0Rh3YFR1AyuW6isg8X8Xop+WymmGQat+6nxI7RP3udYfP6
S4CTUg0cYz7j1SUWf9XiAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";

    #[test]
    fn signs_what_the_agent_verifies_with_the_printed_line() {
        let k = PublishKey::from_openssh(TEST_KEY).unwrap();
        assert!(
            k.public_line.starts_with("ssh-ed25519 AAAA"),
            "{}",
            k.public_line
        );
        let sig = k.sign(b"manifest bytes");
        let key = parse_signing_key(&k.public_line).unwrap();
        assert_eq!(key, k.public_key());
        verify_bundle_signature(b"manifest bytes", sig.as_bytes(), &[key]).unwrap();
        assert!(verify_bundle_signature(b"other bytes", sig.as_bytes(), &[key]).is_err());
    }

    #[test]
    fn refuses_what_is_not_an_unencrypted_ed25519_key() {
        let e = PublishKey::from_openssh("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA x").unwrap_err();
        assert!(e.contains("not an OpenSSH private key"), "{e}");
    }
}
