//! `audit:` in agent.yaml: where audit events go.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// `auto`, `journald`, `syslog`, `stderr` or `file:/path`.
    #[serde(default = "default_sink")]
    pub sink: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            sink: default_sink(),
        }
    }
}

fn default_sink() -> String {
    "auto".into()
}

impl AuditConfig {
    pub fn check(&self) -> Result<(), String> {
        crate::audit::SinkSpec::parse(&self.sink)?;
        Ok(())
    }
}
