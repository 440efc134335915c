//! One pull of a publisher directory: the manifest (verified with one
//! re-read after a short wait, for a publish that raced), the rules of
//! `manifest_check`, then the bundle it names when it is not the one in
//! force, checked against the manifest's SHA-256 and size.

use std::time::{Duration, SystemTime};

use super::deadline::PullDeadline;
use super::manifest_check::{check_bundle, check_manifest, AcceptedManifest, Refusal, RefusalKind};
use super::manifest_fetch::{FetchedManifest, ManifestFetcher};
use super::manifest_format::{parse_manifest, Manifest};
use super::signing::verify_bundle_signature;

/// How long to wait before reading a manifest again whose signature did not
/// verify (the publisher writes the signature, then the manifest).
pub const SIGNATURE_RETRY_DELAY: Duration = Duration::from_secs(1);

/// What the pull is held against.
pub struct PullInput<'a> {
    pub keys: &'a [[u8; 32]],
    /// `cluster.source_name`.
    pub source_name: &'a str,
    /// The last-known-good manifest.
    pub floor: Option<&'a AcceptedManifest>,
    /// The SHA-256 of the bundle in force (its bytes need no new fetch).
    pub installed_sha256: Option<&'a str>,
    /// The manifest's ETag from the last accepted pull.
    pub etag: Option<&'a str>,
    pub now: SystemTime,
    pub max_bundle_bytes: u64,
    pub retry_delay: Duration,
    /// The whole pull's (`cluster.timeout`): the manifest, its signature,
    /// the wait before reading them again, and the bundle.
    pub deadline: PullDeadline,
    /// How errors name the manifest.
    pub origin: &'a str,
}

#[derive(Debug)]
pub enum PullOutcome {
    /// 304: the manifest accepted last is still current.
    NotModified,
    Accepted {
        manifest: Box<Manifest>,
        fetched: FetchedManifest,
        /// The bundle's bytes; `None` when it is the bundle in force.
        bundle: Option<Vec<u8>>,
    },
}

#[derive(Debug)]
pub enum PullError {
    /// The source could not be read (not a verdict on what it serves).
    Unreachable(String),
    /// What the source serves was refused.
    Refused(Refusal),
}

impl std::fmt::Display for PullError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PullError::Unreachable(e) => write!(f, "{e}"),
            PullError::Refused(r) => write!(f, "{r}"),
        }
    }
}

pub fn pull_manifest(
    fetcher: &ManifestFetcher,
    input: &PullInput<'_>,
) -> Result<PullOutcome, PullError> {
    let Some(fetched) = fetcher
        .fetch_manifest(input.etag, &input.deadline)
        .map_err(PullError::Unreachable)?
    else {
        return Ok(PullOutcome::NotModified);
    };
    let fetched = match signed(&fetched, input) {
        Ok(()) => fetched,
        Err(_) => {
            input
                .deadline
                .sleep(input.retry_delay)
                .map_err(PullError::Unreachable)?;
            let again = fetcher
                .fetch_manifest(None, &input.deadline)
                .map_err(PullError::Unreachable)?
                .ok_or_else(|| PullError::Unreachable("unexpected 304".into()))?;
            signed(&again, input).map_err(PullError::Refused)?;
            again
        }
    };
    let manifest = parse_manifest(&fetched.bytes, input.origin)
        .map_err(|e| PullError::Refused(Refusal::new(RefusalKind::Malformed, e.to_string())))?;
    check_manifest(
        &manifest,
        input.source_name,
        input.floor,
        input.now,
        input.max_bundle_bytes,
    )
    .map_err(PullError::Refused)?;
    if input.installed_sha256 == Some(manifest.bundle.sha256.as_str()) {
        return Ok(PullOutcome::Accepted {
            manifest: Box::new(manifest),
            fetched,
            bundle: None,
        });
    }
    let bytes = fetcher
        .fetch_bundle(
            &manifest.bundle.path,
            input.max_bundle_bytes,
            &input.deadline,
        )
        .map_err(|e| PullError::Unreachable(format!("bundle {}: {e}", manifest.bundle.path)))?;
    check_bundle(&manifest, &bytes).map_err(PullError::Refused)?;
    Ok(PullOutcome::Accepted {
        manifest: Box::new(manifest),
        fetched,
        bundle: Some(bytes),
    })
}

fn signed(fetched: &FetchedManifest, input: &PullInput<'_>) -> Result<(), Refusal> {
    verify_bundle_signature(&fetched.bytes, &fetched.signature, input.keys)
        .map(|_| ())
        .map_err(|e| {
            Refusal::new(
                RefusalKind::BadSignature,
                format!(
                    "{}: {} (also when read again after {}ms)",
                    input.origin,
                    e.replace("the bundle signature", "the manifest signature"),
                    input.retry_delay.as_millis()
                ),
            )
        })
}

#[cfg(test)]
#[path = "manifest_pull_tests.rs"]
mod tests;
