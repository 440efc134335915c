//! Cluster sync: pulling the bundle from an HTTPS source (trust, token,
//! ETag, signature), keeping the last known good copy on disk, pacing the
//! pulls, and saying what changed. `crate::state` drives it.

mod cache;
mod deadline;
mod diff;
mod etag;
mod fetch;
pub mod manifest_check;
mod manifest_fetch;
mod manifest_floor;
pub mod manifest_format;
mod manifest_pull;
mod safe_file;
mod schedule;
mod sha256_hex;
mod signing;
#[cfg(test)]
pub(crate) mod test_publisher;
mod trust;

pub use cache::{
    hex_sha256, CacheStore, CacheWrites, CachedFile, CachedManifest, LastKnownGood, BUNDLE_FILE,
};
pub use deadline::PullDeadline;
pub use diff::diff_bundles;
pub use fetch::{Fetched, HttpsFetcher};
pub use manifest_check::{AcceptedManifest, Refusal, RefusalKind};
pub use manifest_fetch::{FetchedManifest, ManifestFetcher};
pub use manifest_floor::{load_floor, raise_floor};
pub use manifest_pull::{pull_manifest, PullError, PullInput, PullOutcome, SIGNATURE_RETRY_DELAY};
pub use safe_file::{
    ensure_private_dir, open_own_private_file, read_private_file, write_private_file,
};
pub use schedule::{Jitter, PollSchedule};
pub use signing::{parse_signing_key, verify_bundle_signature};
pub use trust::{spki_sha256, tls_config};
