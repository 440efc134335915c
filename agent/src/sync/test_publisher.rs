//! For tests: a publisher directory written as BRIEF's format fixes it
//! (bundle, then signature, then manifest), signed with a fixed key.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signer, SigningKey};

use super::cache::hex_sha256;
use super::manifest_format::{bundle_path_for, encode_signature, BundleRef, Manifest};

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

/// The public half as agent.yaml writes it.
pub fn key_line() -> String {
    use base64::Engine;
    format!(
        "ed25519:{}",
        base64::engine::general_purpose::STANDARD.encode(key().verifying_key().to_bytes())
    )
}

pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("pam-mfa-manifest-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("bundles")).unwrap();
        Dir(d)
    }

    pub fn manifest(&self) -> PathBuf {
        self.0.join("manifest.json")
    }

    /// Writes a set as `mfactl publish` does: bundle, signature, manifest.
    pub fn publish(&self, source: &str, serial: u64, issued: u64, bundle: &str) -> Manifest {
        let sha = hex_sha256(bundle.as_bytes());
        let m = Manifest {
            source: source.into(),
            serial,
            issued_at: at(issued),
            expires_at: at(issued + 3600),
            bundle: BundleRef {
                path: bundle_path_for(&sha),
                sha256: sha,
                size: bundle.len() as u64,
            },
        };
        std::fs::write(self.0.join(&m.bundle.path), bundle).unwrap();
        let json = m.to_json().unwrap();
        let sig = encode_signature(&key().sign(json.as_bytes()).to_bytes());
        std::fs::write(self.0.join("manifest.json.sig"), sig).unwrap();
        std::fs::write(self.manifest(), json).unwrap();
        m
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
