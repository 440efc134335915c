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
