//! `attached_keys:` in agent.yaml: taps on keys plugged into this host
//! (desktop and console logins, local sudo/su).

use std::time::Duration;

use serde::Deserialize;

use super::duration::serde_text;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachedKeysConfig {
    /// Desktop-class services, and sudo/su outside an SSH session, tap a
    /// key attached to this host instead of the challenge prompt.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long the agent waits for the key (inserted, PIN checked,
    /// touched) before it refuses the login (5s..5m). The module's
    /// `timeout=` must be longer.
    #[serde(default = "default_timeout", with = "serde_text")]
    pub timeout: Duration,
    /// Only PC/SC readers whose name contains this (default: any).
    #[serde(default)]
    pub piv_reader: Option<String>,
}

impl Default for AttachedKeysConfig {
    fn default() -> Self {
        AttachedKeysConfig {
            enabled: true,
            timeout: default_timeout(),
            piv_reader: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl AttachedKeysConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.timeout < Duration::from_secs(5) || self.timeout > Duration::from_secs(300) {
            return Err("attached_keys.timeout must be between 5s and 5m".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::AgentConfig;
    use std::time::Duration;

    #[test]
    fn defaults_and_bounds() {
        let c = AgentConfig::parse("fail_mode: closed\n", "t").unwrap();
        assert!(c.attached_keys.enabled);
        assert_eq!(c.attached_keys.timeout, Duration::from_secs(30));
        assert_eq!(c.attached_keys.piv_reader, None);
        let c = AgentConfig::parse(
            "attached_keys:\n  enabled: false\n  timeout: 1m\n  piv_reader: Yubico\n",
            "t",
        )
        .unwrap();
        assert!(!c.attached_keys.enabled);
        assert_eq!(c.attached_keys.timeout, Duration::from_secs(60));
        assert_eq!(c.attached_keys.piv_reader.as_deref(), Some("Yubico"));
        for bad in [
            "attached_keys:\n  timeout: 1s\n",
            "attached_keys:\n  timeout: 10m\n",
            "attached_keys:\n  wait: 10s\n",
        ] {
            let e = AgentConfig::parse(bad, "agent.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.contains("attached_keys") || e.contains("wait"), "{e}");
        }
    }
}
