//! The signed manifest of a publisher directory (`mfactl publish --out DIR`):
//! its data type, parsing (with the place of every error), serializing (the
//! publisher writes exactly these bytes and signs them) and verifying.
//!
//! ```text
//! DIR/manifest.json      {"format":"pam-mfa-manifest/1","source":"NAME","serial":N,
//!                         "issued_at":"RFC3339 UTC","expires_at":"RFC3339 UTC",
//!                         "bundle":{"path":"bundles/<sha256hex>.json","sha256":"<hex>","size":N}}
//! DIR/manifest.json.sig  base64 of the Ed25519 signature over manifest.json's exact bytes
//! DIR/bundles/<sha256hex>.json   the bundle (content-addressed, never rewritten)
//! ```
//!
//! Readers ignore members they do not know; a member given twice is refused
//! (two readers must never see two different manifests in the same bytes).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::signing::verify_bundle_signature;

/// The value of `format` this module reads and writes.
pub const MANIFEST_FORMAT: &str = "pam-mfa-manifest/1";
/// The manifest's file name in a publisher directory; a manifest source URL ends in `/` + this.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The detached signature beside it.
pub const SIGNATURE_FILE: &str = "manifest.json.sig";
/// The name `mfactl publish` uses for [`SIGNATURE_FILE`].
pub const MANIFEST_SIGNATURE_FILE: &str = SIGNATURE_FILE;
/// Where the bundles live, relative to the manifest.
pub const BUNDLES_DIR: &str = "bundles";
/// The largest manifest (and signature) a reader accepts.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;
/// The longest source name.
const MAX_SOURCE_NAME: usize = 253;

/// A manifest, as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Which publisher this is (`cluster.source_name` on the agents).
    pub source: String,
    /// Grows with every publish; an agent refuses one lower than it has seen.
    pub serial: u64,
    pub issued_at: SystemTime,
    /// Past this, agents treat the policy as stale.
    pub expires_at: SystemTime,
    pub bundle: BundleRef,
}

/// The bundle a manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRef {
    /// Relative to the manifest: a plain relative path, no `..`.
    pub path: String,
    /// Lowercase hex SHA-256 of the bundle's bytes.
    pub sha256: String,
    pub size: u64,
}

/// Why a manifest was not accepted; `place` is `origin[:line:column]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub place: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

impl std::error::Error for ManifestError {}

#[derive(Serialize, Deserialize)]
struct RawManifest {
    format: String,
    source: String,
    serial: u64,
    issued_at: String,
    expires_at: String,
    bundle: RawBundle,
}

#[derive(Serialize, Deserialize)]
struct RawBundle {
    path: String,
    sha256: String,
    size: u64,
}

/// `bundles/<sha256hex>.json`, the path the publisher gives a bundle.
pub fn bundle_path_for(sha256_hex: &str) -> String {
    format!("{BUNDLES_DIR}/{sha256_hex}.json")
}

/// The text form of a signature file: base64 and a newline (what
/// `openssl pkeyutl -sign | base64` writes, and what the bundle `.sig` is).
pub fn encode_signature(signature: &[u8; 64]) -> String {
    format!("{}\n", STANDARD.encode(signature))
}

/// serde_json's message without its trailing " at line L column C" (the
/// place is already in front).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Parses a manifest's bytes; `origin` names them in errors (a URL or a path).
pub fn parse_manifest(bytes: &[u8], origin: &str) -> Result<Manifest, ManifestError> {
    let whole = |message: String| ManifestError {
        place: origin.to_string(),
        message,
    };
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(whole(format!(
            "{} bytes, over the limit of {MAX_MANIFEST_BYTES} for a manifest",
            bytes.len()
        )));
    }
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|e| ManifestError {
        place: format!("{origin}:{}:{}", e.line(), e.column()),
        message: format!("not a pam-mfa manifest: {}", without_position(&e)),
    })?;
    if raw.format != MANIFEST_FORMAT {
        return Err(whole(format!(
            "format {:?}: this agent reads {MANIFEST_FORMAT:?}",
            raw.format
        )));
    }
    check_source_name(&raw.source).map_err(|e| whole(format!("source: {e}")))?;
    if raw.serial == 0 {
        return Err(whole("serial: must be at least 1".into()));
    }
    let issued_at = parse_utc(&raw.issued_at).map_err(|e| whole(format!("issued_at: {e}")))?;
    let expires_at = parse_utc(&raw.expires_at).map_err(|e| whole(format!("expires_at: {e}")))?;
    // In whole seconds, as they are written: what parses also serializes.
    if whole_seconds(expires_at) <= whole_seconds(issued_at) {
        return Err(whole(format!(
            "expires_at {} is not after issued_at {}",
            raw.expires_at, raw.issued_at
        )));
    }
    check_bundle_path(&raw.bundle.path).map_err(|e| whole(format!("bundle.path: {e}")))?;
    check_sha256_hex(&raw.bundle.sha256).map_err(|e| whole(format!("bundle.sha256: {e}")))?;
    Ok(Manifest {
        source: raw.source,
        serial: raw.serial,
        issued_at,
        expires_at,
        bundle: BundleRef {
            path: raw.bundle.path,
            sha256: raw.bundle.sha256,
            size: raw.bundle.size,
        },
    })
}

/// Checks the signature (base64 text, as in `manifest.json.sig`) over the
/// manifest's exact bytes with any of `keys` (several for rotation), then
/// parses it. Nothing of an unsigned manifest is read.
pub fn verify_manifest(
    bytes: &[u8],
    signature_text: &[u8],
    keys: &[[u8; 32]],
    origin: &str,
) -> Result<Manifest, ManifestError> {
    verify_bundle_signature(bytes, signature_text, keys).map_err(|e| ManifestError {
        place: origin.to_string(),
        message: e.replace("the bundle signature", "the manifest signature"),
    })?;
    parse_manifest(bytes, origin)
}

impl Manifest {
    /// Parses a manifest's bytes (the error names no origin: see [`parse_manifest`]).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        parse_manifest(bytes, "manifest").map_err(|e| e.to_string())
    }

    /// [`Manifest::to_json`]'s bytes. Panics on a manifest that breaks the
    /// format's rules (an empty source, a bad path or hash, expiry before
    /// issue): the publisher builds them from checked values.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_json()
            .unwrap_or_else(|e| panic!("a manifest that breaks the format: {e}"))
            .into_bytes()
    }

    /// The exact bytes to write to `manifest.json` and sign: compact JSON,
    /// members in the documented order, times in whole seconds UTC.
    pub fn to_json(&self) -> Result<String, String> {
        check_source_name(&self.source).map_err(|e| format!("source: {e}"))?;
        check_bundle_path(&self.bundle.path).map_err(|e| format!("bundle.path: {e}"))?;
        check_sha256_hex(&self.bundle.sha256).map_err(|e| format!("bundle.sha256: {e}"))?;
        if self.serial == 0 || whole_seconds(self.expires_at) <= whole_seconds(self.issued_at) {
            return Err("serial must be at least 1 and expires_at after issued_at".into());
        }
        let raw = RawManifest {
            format: MANIFEST_FORMAT.to_string(),
            source: self.source.clone(),
            serial: self.serial,
            issued_at: format_utc(self.issued_at)?,
            expires_at: format_utc(self.expires_at)?,
            bundle: RawBundle {
                path: self.bundle.path.clone(),
                sha256: self.bundle.sha256.clone(),
                size: self.bundle.size,
            },
        };
        serde_json::to_string(&raw).map_err(|e| e.to_string())
    }
}

/// A source name: 1 to 253 printable characters, no white space at its ends.
pub fn check_source_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > MAX_SOURCE_NAME {
        return Err(format!("must be 1 to {MAX_SOURCE_NAME} characters"));
    }
    if name.chars().any(char::is_control) || name.trim() != name {
        return Err(format!(
            "{name:?}: no control characters or white space at the ends"
        ));
    }
    Ok(())
}

/// A plain relative path below the manifest's directory: `a/b.json`, never
/// absolute, `..`, `.`, empty components, a backslash, or URL syntax.
pub fn check_bundle_path(path: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{path:?}: {why}"));
    if path.is_empty() || path.len() > 512 {
        return bad("must be 1 to 512 bytes");
    }
    if path.starts_with('/') {
        return bad("must be relative to the manifest");
    }
    if path.contains(['\\', '?', '#', '%', ':']) || path.chars().any(char::is_control) {
        return bad("only a plain relative path (no \\ ? # % : or control characters)");
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return bad("no empty, '.' or '..' components");
    }
    Ok(())
}

fn check_sha256_hex(hex: &str) -> Result<(), String> {
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("{hex:?}: expected 64 lowercase hex digits"));
    }
    Ok(())
}

fn whole_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// RFC 3339 with a UTC offset (`Z` or `+00:00`).
fn parse_utc(text: &str) -> Result<SystemTime, String> {
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))?;
    if !t.offset().is_utc() {
        return Err(format!("{text:?}: write the time in UTC (Z)"));
    }
    let secs = t.unix_timestamp();
    if secs < 0 {
        return Err(format!("{text:?}: before 1970"));
    }
    Ok(UNIX_EPOCH + Duration::new(secs as u64, t.nanosecond()))
}

pub use crate::utc_time::{format_utc, rfc3339_utc};

#[cfg(test)]
#[path = "manifest_format_tests.rs"]
mod tests;
