//! `socket:` in agent.yaml: where the agent listens, and who may only ask
//! for keys.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketConfig {
    #[serde(default = "default_socket")]
    pub path: PathBuf,
    /// sshd's `AuthorizedKeysCommandUser`: the only thing it may ask is keys.
    #[serde(default = "default_keys_user")]
    pub keys_user: String,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            path: default_socket(),
            keys_user: default_keys_user(),
        }
    }
}

fn default_socket() -> PathBuf {
    PathBuf::from(pam_mfa_protocol::DEFAULT_SOCKET)
}

fn default_keys_user() -> String {
    "nobody".into()
}

impl SocketConfig {
    pub fn check(&self) -> Result<(), String> {
        if !self.path.is_absolute() {
            return Err("socket.path must be an absolute path".into());
        }
        Ok(())
    }
}
