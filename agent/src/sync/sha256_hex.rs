//! SHA-256 in lower-case hex, as manifests and the cache name bundles.

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lower-case hex.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
