//! Talking to a user's ssh-agent (draft-miller-ssh-agent), as root, over the
//! user's own socket (DESIGN.md "Ways to tap" 3: sudo/su inside an SSH
//! session signs a challenge with the forwarded agent).
//!
//! Nothing the agent says is trusted beyond its bytes: the socket must be the
//! user's (lstat, no symlink), the peer must be the user or root
//! (SO_PEERCRED), every read and write has a deadline, and messages are
//! bounded. What comes back is checked by `crate::verify`.

mod agent_key;
pub mod client;
mod error;
mod transport;
mod wire;

#[cfg(test)]
pub(crate) mod test_agent;
#[cfg(test)]
mod tests;

pub use error::AgentError;
