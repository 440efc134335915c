//! `mfactl sessions`: a live login session the agent tracks.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The agent's id for the session.
    pub id: String,
    /// The process that opened the session (from SO_PEERCRED; for sshd its
    /// privileged monitor).
    pub pid: u32,
    /// The account logged in to (PAM user).
    pub login: String,
    /// The cluster user the session was decided for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
    /// What satisfied the requirement (`tap (ssh_sk)`, `login key`, `none needed`, ...).
    pub evidence: String,
    /// RFC 3339 time the session was opened.
    pub opened: String,
    /// `ssh`, `admin` or `desktop` (from the PAM service).
    #[serde(default)]
    pub class: String,
    /// The MFA device used, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Set once the agent is ending the session: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<String>,
}
