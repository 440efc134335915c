//! What an agent accepts from a publisher: the rules against rollback,
//! mix-ups and tampering, on a manifest whose signature already verified.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::manifest_format::Manifest;
use super::sha256_hex::hex_sha256;

/// How far in the future `issued_at` may be (clocks differ a little).
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(300);

/// The manifest of the policy in force: the last-known-good that later
/// manifests are held against (kept in the state directory with the bundle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedManifest {
    pub source: String,
    pub serial: u64,
    /// Lowercase hex SHA-256 of the bundle.
    pub sha256: String,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
}

impl From<&Manifest> for AcceptedManifest {
    fn from(m: &Manifest) -> Self {
        AcceptedManifest {
            source: m.source.clone(),
            serial: m.serial,
            sha256: m.bundle.sha256.clone(),
            issued_at: m.issued_at,
            expires_at: m.expires_at,
        }
    }
}

/// Why a manifest or its bundle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The signature did not verify (after one re-read).
    BadSignature,
    /// Signed, but not a manifest this agent reads.
    Malformed,
    /// Signed for another `cluster.source_name`.
    WrongSource,
    /// A serial lower than the last-known-good's.
    Rollback,
    /// The last-known-good's serial with another bundle.
    SerialReused,
    /// `issued_at` beyond the clock skew allowance.
    IssuedInTheFuture,
    /// The bundle's SHA-256 or size is not the manifest's.
    BundleMismatch,
    /// A new manifest already past its `expires_at`.
    Expired,
}

impl RefusalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::BadSignature => "bad_signature",
            RefusalKind::Malformed => "malformed",
            RefusalKind::WrongSource => "wrong_source",
            RefusalKind::Rollback => "rollback",
            RefusalKind::SerialReused => "serial_reused",
            RefusalKind::IssuedInTheFuture => "issued_in_the_future",
            RefusalKind::Expired => "expired",
            RefusalKind::BundleMismatch => "bundle_mismatch",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub reason: String,
}

impl Refusal {
    pub fn new(kind: RefusalKind, reason: String) -> Refusal {
        Refusal { kind, reason }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "manifest refused ({}): {}",
            self.kind.as_str(),
            self.reason
        )
    }
}

/// The rules on a verified manifest: our source, not from the future, and
/// not behind `floor` (the last-known-good).
pub fn check_manifest(
    m: &Manifest,
    source_name: &str,
    floor: Option<&AcceptedManifest>,
    now: SystemTime,
    max_bundle_bytes: u64,
) -> Result<(), Refusal> {
    if m.source != source_name {
        return Err(Refusal::new(
            RefusalKind::WrongSource,
            format!(
                "it is for source {:?}, this agent follows {source_name:?} (cluster.source_name)",
                m.source
            ),
        ));
    }
    if m.issued_at > now + CLOCK_SKEW_ALLOWANCE {
        let ahead = m.issued_at.duration_since(now).unwrap_or_default();
        return Err(Refusal::new(
            RefusalKind::IssuedInTheFuture,
            format!(
                "issued {}s in the future (more than the {}s clock skew allowed); check the clocks",
                ahead.as_secs(),
                CLOCK_SKEW_ALLOWANCE.as_secs()
            ),
        ));
    }
    if m.bundle.size > max_bundle_bytes {
        return Err(Refusal::new(
            RefusalKind::Malformed,
            format!(
                "its bundle is {} bytes, over cluster.max_bundle_bytes {max_bundle_bytes}",
                m.bundle.size
            ),
        ));
    }
    // A manifest newer than the one in force must not be expired already:
    // it would move the rollback floor and replace the bundle with a policy
    // that is stale on arrival. (The one in force read again past its
    // expiry is not refused: the policy just goes stale.)
    if m.expires_at <= now && floor.is_none_or(|f| m.serial > f.serial) {
        return Err(Refusal::new(
            RefusalKind::Expired,
            format!(
                "serial {} expired at {} (the publisher's --valid-for); an old signed set was served, or the clocks disagree",
                m.serial,
                crate::sync::manifest_format::rfc3339_utc(m.expires_at)
            ),
        ));
    }
    check_floor(m, floor)
}

/// Not behind `floor` (the last-known-good): a lower serial is a rollback,
/// the same serial with another bundle a reused one.
pub fn check_floor(m: &Manifest, floor: Option<&AcceptedManifest>) -> Result<(), Refusal> {
    let Some(floor) = floor else {
        return Ok(());
    };
    if m.serial < floor.serial {
        return Err(Refusal::new(
            RefusalKind::Rollback,
            format!(
                "serial {} is lower than the last known good serial {} (an older signed set was served)",
                m.serial, floor.serial
            ),
        ));
    }
    if m.serial == floor.serial && m.bundle.sha256 != floor.sha256 {
        return Err(Refusal::new(
            RefusalKind::SerialReused,
            format!(
                "serial {} is the last known good's, but with bundle {} instead of {}",
                m.serial, m.bundle.sha256, floor.sha256
            ),
        ));
    }
    Ok(())
}

/// The bundle is the one the manifest names: its size and SHA-256.
pub fn check_bundle(m: &Manifest, bytes: &[u8]) -> Result<(), Refusal> {
    let sha = hex_sha256(bytes);
    if bytes.len() as u64 != m.bundle.size || sha != m.bundle.sha256 {
        return Err(Refusal::new(
            RefusalKind::BundleMismatch,
            format!(
                "{} is {} bytes with SHA-256 {sha}; the manifest says {} bytes, {}",
                m.bundle.path,
                bytes.len(),
                m.bundle.size,
                m.bundle.sha256
            ),
        ));
    }
    Ok(())
}
