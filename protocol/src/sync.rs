//! `mfactl sync`: what a forced pull of the cluster's bundle did.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The pull succeeded (a new bundle, or the server said it is unchanged).
    pub ok: bool,
    /// The revision in force after the pull.
    pub revision: String,
    /// The revision in force before it.
    pub previous_revision: String,
    /// What changed, one line per resource (`+ role/access-prod`, `- lock/x`, `~ user/jerry`).
    #[serde(default)]
    pub changes: Vec<String>,
    /// A sentence for people: unchanged (304), loaded, or why it was refused.
    pub message: String,
}

/// The sync part of `mfactl status`: where the policy came from and how
/// fresh it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// RFC 3339 time the policy in force was fetched from (or read at) its source.
    #[serde(default)]
    pub policy_fetched_at: Option<String>,
    /// Seconds since `policy_fetched_at`.
    #[serde(default)]
    pub policy_age_seconds: Option<u64>,
    /// RFC 3339 time of the last successful contact with the source (a 200
    /// or 304, a good read of a file source).
    #[serde(default)]
    pub last_contact: Option<String>,
    /// Seconds since `last_contact`.
    #[serde(default)]
    pub last_contact_age_seconds: Option<u64>,
    /// RFC 3339 time of the last pull or load attempt.
    #[serde(default)]
    pub last_attempt: Option<String>,
    /// RFC 3339 time the pull running now began (at start without a cached
    /// copy: the first one, while logins follow `fail_mode`); absent when
    /// none runs. `cluster.timeout` ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started: Option<String>,
    /// Seconds since `pull_started`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_seconds: Option<u64>,
    /// The policy in force is the last-known-good copy from the state
    /// directory, not yet confirmed by the source.
    #[serde(default)]
    pub from_cache: bool,
    /// Why the last-known-good copy was refused (at start) or not saved.
    #[serde(default)]
    pub cache_error: Option<String>,
    /// The source's ETag for the policy in force.
    #[serde(default)]
    pub etag: Option<String>,
    /// Past `cluster.max_staleness`: the policy counts as unknown.
    #[serde(default)]
    pub policy_stale: bool,
    /// Past `cluster.lock_view_max_age` (denies logins under `locking_mode: strict`).
    #[serde(default)]
    pub lock_view_stale: bool,
    /// The cap's `locking_mode` (`best_effort`, `strict`; empty without a policy).
    #[serde(default)]
    pub locking_mode: String,
    /// `usable`, or why logins cannot be decided from the policy.
    #[serde(default)]
    pub policy_state: String,
    /// A file source whose last read was refused (its bundle removed,
    /// `policy.d` emptied, a bad edit) while a policy is in force, and whose
    /// last-known-good copy could not be saved (`cache_error`): that policy
    /// is no longer on disk nor in the state directory, so a restarted agent
    /// would have no policy.
    #[serde(default)]
    pub lost_at_restart: bool,
    #[serde(default)]
    pub max_staleness_seconds: u64,
    #[serde(default)]
    pub lock_view_max_age_seconds: u64,
    /// Manifest mode: the manifest in force and the last one refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestStatus>,
}

/// A manifest source: what the policy in force was accepted with, and the
/// last manifest refused (rollback, another source, a tampered bundle...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestStatus {
    /// `cluster.source_name`.
    pub source_name: String,
    /// The accepted manifest's serial (the floor: lower ones are refused).
    #[serde(default)]
    pub serial: Option<u64>,
    #[serde(default)]
    pub bundle_sha256: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub issued_at: Option<String>,
    /// RFC 3339; past it the policy is stale.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub expired: bool,
    /// `rollback`, `serial_reused`, `wrong_source`, `bundle_mismatch`,
    /// `bad_signature`, `issued_in_the_future` or `malformed`.
    #[serde(default)]
    pub last_refusal_kind: Option<String>,
    /// Why it was refused, for people.
    #[serde(default)]
    pub last_refusal: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub last_refusal_at: Option<String>,
}
