//! ssh-keygen wrappers: plain ed25519 keys and software FIDO (sk-dummy) keys.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bins::SK_DUMMY;
use crate::process::run_checked;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    Ed25519Sk,
    EcdsaSk,
}

impl KeyKind {
    fn keygen_type(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Ed25519Sk => "ed25519-sk",
            KeyKind::EcdsaSk => "ecdsa-sk",
        }
    }

    pub fn is_sk(self) -> bool {
        !matches!(self, KeyKind::Ed25519)
    }
}

/// A generated key pair.
#[derive(Debug, Clone)]
pub struct SshKey {
    pub kind: KeyKind,
    pub private: PathBuf,
    pub public: PathBuf,
    /// The `.pub` file's line: `<type> <base64> <comment>`.
    pub public_line: String,
    pub verify_required: bool,
}

impl SshKey {
    /// Generates `dir/name` (no passphrase). sk keys use sk-dummy; with
    /// `verify_required` the key demands user verification (`-O verify-required`).
    pub fn generate(dir: &Path, name: &str, kind: KeyKind, verify_required: bool) -> SshKey {
        assert!(
            !verify_required || kind.is_sk(),
            "verify-required is for sk keys"
        );
        let private = dir.join(name);
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-t", kind.keygen_type(), "-N", "", "-C"])
            .arg(format!("{name}@pam-mfa-e2e"))
            .arg("-f")
            .arg(&private);
        if kind.is_sk() {
            cmd.args(["-w", SK_DUMMY]);
            if verify_required {
                cmd.args(["-O", "verify-required"]);
            }
        }
        run_checked(&mut cmd);
        let public = dir.join(format!("{name}.pub"));
        let public_line = std::fs::read_to_string(&public)
            .unwrap_or_else(|e| panic!("read {}: {e}", public.display()))
            .trim()
            .to_string();
        SshKey {
            kind,
            private,
            public,
            public_line,
            verify_required,
        }
    }

    /// The key type as OpenSSH names it, e.g. `sk-ssh-ed25519@openssh.com`.
    pub fn key_type(&self) -> &str {
        self.public_line
            .split_whitespace()
            .next()
            .unwrap_or_default()
    }

    /// The base64 key blob.
    pub fn blob(&self) -> &str {
        self.public_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
    }

    /// `<type> <base64>` without the comment.
    pub fn type_and_blob(&self) -> String {
        format!("{} {}", self.key_type(), self.blob())
    }
}
