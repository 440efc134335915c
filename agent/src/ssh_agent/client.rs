//! A minimal blocking ssh-agent client: list the keys, ask for a signature.
//!
//! Each call makes one connection, checked before and after connecting (see
//! [`list_keys`]), and sends one request.

use std::path::Path;
use std::time::Instant;

pub use super::agent_key::AgentKey;
use super::transport::connect_checked;
use super::wire;
pub use super::AgentError;

/// Lists the agent's keys (SSH_AGENTC_REQUEST_IDENTITIES → SSH_AGENT_IDENTITIES_ANSWER).
///
/// Checks BEFORE connecting that `path` (no symlink followed: lstat) is a
/// socket owned by `expected_uid`, and after connecting that SO_PEERCRED's uid
/// is `expected_uid` or 0; every read and write has `deadline`.
pub fn list_keys(
    path: &Path,
    expected_uid: u32,
    deadline: Instant,
) -> Result<Vec<AgentKey>, AgentError> {
    let conn = connect_checked(path, expected_uid, deadline)?;
    conn.send_message(&wire::request_identities())?;
    wire::parse_identities(&conn.recv_message()?)
}

/// Asks the agent to sign `data` with the key `key_blob`
/// (SSH_AGENTC_SIGN_REQUEST → SSH_AGENT_SIGN_RESPONSE) and returns the SSH
/// wire-format signature, unverified: check it (e.g.
/// [`crate::verify::ssh_sk::verify_sk_signature`]) before trusting it.
/// SSH_AGENT_FAILURE is [`AgentError::Refused`]. Same checks as [`list_keys`].
pub fn sign(
    path: &Path,
    expected_uid: u32,
    key_blob: &[u8],
    data: &[u8],
    deadline: Instant,
) -> Result<Vec<u8>, AgentError> {
    let request = wire::sign_request(key_blob, data)?;
    let conn = connect_checked(path, expected_uid, deadline)?;
    conn.send_message(&request)?;
    wire::parse_sign_response(&conn.recv_message()?)
}
