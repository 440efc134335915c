//! What an ssh-agent lists: a key and its comment (read by `wire`, handed
//! out by `client`).

/// A key the agent holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentKey {
    /// The public key in SSH wire format.
    pub key_blob: Vec<u8>,
    /// The agent's comment for it (lossy UTF-8).
    pub comment: String,
}
