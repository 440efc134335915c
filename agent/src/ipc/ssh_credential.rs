//! What sshd authenticated a login with before pam-mfa runs: what tells
//! apart the people who log in to one shared account (`deploy`, `root`),
//! so that each keeps their own budget of pending logins. sshd shows it in
//! `SSH_AUTH_INFO_0`, trusted from root peers only (the person module
//! asks only for a root peer with no one behind it).
//!
//! A credential is no more than its holder may present: a plain key is
//! one only who may write the account's authorized_keys adds, and a
//! certificate's person is its key id as its CA named it (a holder may
//! have a new certificate, and key, issued at will, but not a new key id).
//! So no one multiplies their budget at will.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use ssh_key::{Certificate, HashAlg};

use crate::login::accepted_keys;

/// The credential sshd accepted for a login, as a budget's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SshCredential {
    /// A certificate: the user its key id names, as the CA (its key's
    /// SHA-256 fingerprint) that signed it named them. A Teleport node takes
    /// the key id for the Teleport user (lib/srv/authhandlers.go,
    /// `UserKeyAuth`: `teleportUser := cert.KeyId`). Not the certificate's
    /// own key: its holder may have as many issued as they like.
    Certificate { key_id: String, ca: String },
    /// A plain public key (a security key's too): the key itself, as
    /// OpenSSH's SHA-256 fingerprint of it.
    Key(String),
}

impl fmt::Display for SshCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The key id is the CA's text: quoted and escaped.
            SshCredential::Certificate { key_id, ca } => {
                write!(f, "the certificate of {key_id:?} (CA {ca})")
            }
            SshCredential::Key(fingerprint) => write!(f, "key {fingerprint}"),
        }
    }
}

/// The credential of the first public key in `auth_info` (sshd lists the
/// methods in the order they succeeded; `AuthenticationMethods
/// publickey,publickey` gives two). `None` when no public key authenticated
/// the login (password, keyboard-interactive), or its blob is not base64,
/// or a certificate does not parse: the login then counts against its
/// account.
pub fn credential_of(auth_info: &str) -> Option<SshCredential> {
    let key = accepted_keys(auth_info).into_iter().next()?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(key.blob.trim())
        .ok()?;
    if key.is_certificate() {
        // sshd verified it; what the CA signed is only read here.
        let cert = Certificate::from_bytes(&blob).ok()?;
        return Some(SshCredential::Certificate {
            key_id: cert.key_id().to_owned(),
            ca: cert
                .signature_key()
                .fingerprint(HashAlg::Sha256)
                .to_string(),
        });
    }
    Some(SshCredential::Key(fingerprint(&blob)))
}

/// OpenSSH's fingerprint of a public key blob: `SHA256:` and the unpadded
/// base64 of its SHA-256 (what `ssh-keygen -l` prints).
fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use ssh_key::certificate::Builder;
    use ssh_key::private::{Ed25519Keypair, PrivateKey};

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A user certificate for the key of `seed` with `key_id`, signed by
    /// the CA of `ca_seed`; returns (the CA's fingerprint, the auth info
    /// line).
    pub(crate) fn cert_line(seed: u8, key_id: &str, ca_seed: u8) -> (String, String) {
        let subject = Ed25519Keypair::from_seed(&[seed; 32]).public;
        let ca = PrivateKey::from(Ed25519Keypair::from_seed(&[ca_seed; 32]));
        let mut b = Builder::new([seed; 16], subject, 0x7000_0000, 0x7000_1000).unwrap();
        b.key_id(key_id).unwrap();
        b.valid_principal("deploy").unwrap();
        let cert = b.sign(&ca).unwrap();
        let ca_fp = ca.public_key().fingerprint(HashAlg::Sha256).to_string();
        let line = format!(
            "publickey ssh-ed25519-cert-v01@openssh.com {}\n",
            b64(&cert.to_bytes().unwrap())
        );
        (ca_fp, line)
    }

    #[test]
    fn a_plain_key_is_its_openssh_fingerprint() {
        // A key ssh-keygen made, and what `ssh-keygen -l` prints for it.
        let line = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINWfDkiD3zp32hldZ2zf6YVkFWAeqJtl4iXEOpSlCBpc\n";
        let want = "SHA256:yIfBU+VSO8O0/PQ2wQvw6aBpzBuTXPO+sEnorqWp0Mg";
        let key = credential_of(line).unwrap();
        assert_eq!(key, SshCredential::Key(want.into()));
        assert_eq!(key.to_string(), format!("key {want}"));
    }

    #[test]
    fn a_certificate_is_its_key_id_under_its_ca_whatever_its_key() {
        let (ca, alice_1) = cert_line(1, "alice", 9);
        let (_, alice_2) = cert_line(2, "alice", 9);
        let (_, bob) = cert_line(3, "bob", 9);
        let (other_ca, alice_elsewhere) = cert_line(1, "alice", 8);
        let alice = SshCredential::Certificate {
            key_id: "alice".into(),
            ca: ca.clone(),
        };
        // A new certificate (and key) is still alice.
        assert_eq!(credential_of(&alice_1), Some(alice.clone()));
        assert_eq!(credential_of(&alice_2), Some(alice.clone()));
        assert_ne!(credential_of(&bob), Some(alice.clone()));
        // Another CA's "alice" is another person.
        assert_eq!(
            credential_of(&alice_elsewhere),
            Some(SshCredential::Certificate {
                key_id: "alice".into(),
                ca: other_ca,
            })
        );
        assert_eq!(
            alice.to_string(),
            format!("the certificate of \"alice\" (CA {ca})")
        );
    }

    #[test]
    fn the_first_public_key_counts_and_without_one_there_is_none() {
        let a = format!("publickey ssh-ed25519 {}", b64(b"key-a"));
        let b = format!("publickey ssh-ed25519 {}", b64(b"key-b"));
        let first = credential_of(&format!("keyboard-interactive\n{a}\n{b}\n"));
        assert_eq!(first, credential_of(&a));
        assert_ne!(first, credential_of(&b));
        assert_eq!(credential_of("password\n"), None);
        assert_eq!(credential_of("keyboard-interactive\n"), None);
        assert_eq!(credential_of(""), None);
        // Bad base64, a certificate that does not parse: the account.
        assert_eq!(credential_of("publickey ssh-ed25519 !!!\n"), None);
        let junk = format!(
            "publickey ssh-ed25519-cert-v01@openssh.com {}",
            b64(b"junk")
        );
        assert_eq!(credential_of(&junk), None);
    }
}
