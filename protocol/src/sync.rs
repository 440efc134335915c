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
    #[serde(default)]
    pub max_staleness_seconds: u64,
    #[serde(default)]
    pub lock_view_max_age_seconds: u64,
}
