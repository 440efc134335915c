//! `sessions:` in agent.yaml: how live sessions are ended.

use std::time::Duration;

use serde::Deserialize;

use super::duration::serde_text;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Between SIGHUP and SIGKILL when a session is ended (0s..60s).
    #[serde(default = "default_end_grace", with = "serde_text")]
    pub end_grace: Duration,
    /// How often every live session is checked against the policy, besides
    /// after each policy load (1s..1h).
    #[serde(default = "default_check_interval", with = "serde_text")]
    pub check_interval: Duration,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            end_grace: default_end_grace(),
            check_interval: default_check_interval(),
        }
    }
}

fn default_end_grace() -> Duration {
    Duration::from_secs(5)
}

fn default_check_interval() -> Duration {
    Duration::from_secs(10)
}

impl SessionsConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.end_grace > Duration::from_secs(60) {
            return Err("sessions.end_grace must be between 0s and 60s".into());
        }
        if self.check_interval < Duration::from_secs(1)
            || self.check_interval > Duration::from_secs(3600)
        {
            return Err("sessions.check_interval must be between 1s and 1h".into());
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
        assert_eq!(c.sessions.end_grace, Duration::from_secs(5));
        assert_eq!(c.sessions.check_interval, Duration::from_secs(10));
        let c =
            AgentConfig::parse("sessions:\n  end_grace: 0s\n  check_interval: 2s\n", "t").unwrap();
        assert_eq!(c.sessions.end_grace, Duration::ZERO);
        assert_eq!(c.sessions.check_interval, Duration::from_secs(2));
        for bad in [
            "sessions:\n  end_grace: 2m\n",
            "sessions:\n  check_interval: 500ms\n",
            "sessions:\n  grace: 1s\n",
        ] {
            let e = AgentConfig::parse(bad, "agent.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("agent.yaml"), "{e}");
            assert!(e.contains("sessions") || e.contains("grace"), "{e}");
        }
    }
}
