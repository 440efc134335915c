//! `sshd:` in agent.yaml: what sshd_config says, so the agent credits only
//! what sshd itself enforced.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshdConfig {
    /// sshd's `AuthorizedKeysFile`, relative to the home directory. sshd reads
    /// these before `AuthorizedKeysCommand`, so their options win.
    #[serde(default = "default_ak_files")]
    pub authorized_keys_files: Vec<String>,
    /// What sshd_config's `PubkeyAuthOptions` says (`touch-required`,
    /// `verify-required`): sshd then enforces them for every key.
    #[serde(default)]
    pub pubkey_auth_options: Vec<String>,
}

impl Default for SshdConfig {
    fn default() -> Self {
        SshdConfig {
            authorized_keys_files: default_ak_files(),
            pubkey_auth_options: Vec::new(),
        }
    }
}

fn default_ak_files() -> Vec<String> {
    vec![
        ".ssh/authorized_keys".into(),
        ".ssh/authorized_keys2".into(),
    ]
}

impl SshdConfig {
    pub fn check(&self) -> Result<(), String> {
        for o in &self.pubkey_auth_options {
            if !matches!(o.as_str(), "touch-required" | "verify-required" | "none") {
                return Err(format!("sshd.pubkey_auth_options: unknown option '{o}'"));
            }
        }
        Ok(())
    }

    /// sshd_config's `PubkeyAuthOptions touch-required`.
    pub fn enforces_touch(&self) -> bool {
        self.pubkey_auth_options
            .iter()
            .any(|o| o == "touch-required")
    }

    /// sshd_config's `PubkeyAuthOptions verify-required`.
    pub fn enforces_verify(&self) -> bool {
        self.pubkey_auth_options
            .iter()
            .any(|o| o == "verify-required")
    }
}
