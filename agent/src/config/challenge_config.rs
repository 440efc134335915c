//! `challenge:` in agent.yaml: how long a challenge lives and how many
//! answers a login attempt gets.

use std::time::Duration;

use serde::Deserialize;

use super::duration::serde_text;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeConfig {
    /// How long a challenge can be answered.
    #[serde(default = "default_challenge_ttl", with = "serde_text")]
    pub ttl: Duration,
    /// Answers accepted per login attempt before it is refused.
    #[serde(default = "default_tries")]
    pub tries: u32,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            ttl: default_challenge_ttl(),
            tries: default_tries(),
        }
    }
}

/// Two minutes: sshd's own LoginGraceTime ends an unanswered login then,
/// and a tap through the approval page (open the link on a phone, tap,
/// copy the answer back) often takes longer than one. Teleport gives a
/// WebAuthn challenge five (defaults.WebauthnChallengeTimeout).
fn default_challenge_ttl() -> Duration {
    Duration::from_secs(120)
}

fn default_tries() -> u32 {
    3
}

impl ChallengeConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.ttl < Duration::from_secs(5) || self.ttl > Duration::from_secs(600) {
            return Err("challenge.ttl must be between 5s and 10m".into());
        }
        if !(1..=10).contains(&self.tries) {
            return Err("challenge.tries must be between 1 and 10".into());
        }
        Ok(())
    }
}
