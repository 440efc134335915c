//! `/etc/pam-mfa/agent.yaml`: the file as a whole, and the checks that
//! run when it is parsed; each section is its own file beside this one.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::audit_config::AuditConfig;
use super::challenge_config::ChallengeConfig;
use super::cluster_config::ClusterConfig;
use super::config_error::ConfigError;
use super::duration::serde_text;
use super::host_uuid::{resolve_node_id, ResolvedNodeId};
use super::node_config::NodeConfig;
use super::policy_source::PolicySource;
use super::service_map::ServiceMap;
use super::socket_config::SocketConfig;
use super::sshd_config::SshdConfig;
use crate::policy::ServiceClass;

/// Where the agent reads its configuration unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/pam-mfa/agent.yaml";

/// The configuration used when the file is absent: a host with no labels that
/// reads its policy from `/etc/pam-mfa/policy.d`.
pub const EMBEDDED_DEFAULT: &str = include_str!("default_agent.yaml");

/// The longest reuse window allowed: Teleport's MFA validity.
pub const MAX_REUSE_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default)]
    pub node: NodeConfig,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub socket: SocketConfig,
    /// PAM service (glob) → class; consulted before the built-in map.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceClass>,
    #[serde(default)]
    pub fail_mode: FailMode,
    #[serde(default, with = "serde_text")]
    pub reuse_window: Duration,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub sshd: SshdConfig,
    #[serde(default)]
    pub challenge: ChallengeConfig,
    #[serde(default)]
    pub sessions: super::SessionsConfig,
    #[serde(default)]
    pub piv: super::PivConfig,
    #[serde(default)]
    pub attached_keys: super::AttachedKeysConfig,
    /// Where the browser approval page is hosted (checked: https, a DNS
    /// host); unset: the prompt shows no link and browser answers are refused.
    #[serde(default)]
    pub approval_url: Option<super::ApprovalUrl>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    #[default]
    Closed,
    Open,
}

impl AgentConfig {
    /// Parses and checks a configuration text.
    pub fn parse(text: &str, origin: &str) -> Result<AgentConfig, ConfigError> {
        let at = |message: String| ConfigError {
            file: origin.into(),
            line: None,
            column: None,
            message,
        };
        let cfg: AgentConfig = serde_saphyr::from_str(text).map_err(|e| {
            let loc = e.location();
            // The first line of serde-saphyr's text is the message itself.
            let msg = e.to_string();
            let msg = msg.lines().next().unwrap_or("invalid YAML").to_string();
            let msg = strip_location_prefix(&msg);
            ConfigError {
                file: origin.into(),
                line: loc.map(|l| l.line()),
                column: loc.map(|l| l.column()),
                message: msg,
            }
        })?;
        if cfg.reuse_window > MAX_REUSE_WINDOW {
            return Err(at(format!(
                "reuse_window is {}s; it may not exceed {}s (Teleport's MFA validity)",
                cfg.reuse_window.as_secs(),
                MAX_REUSE_WINDOW.as_secs()
            )));
        }
        cfg.challenge.check().map_err(at)?;
        cfg.cluster.check_intervals().map_err(at)?;
        cfg.sessions.check().map_err(at)?;
        cfg.piv.check().map_err(at)?;
        cfg.attached_keys.check().map_err(at)?;
        cfg.policy_source().map_err(at)?;
        cfg.cluster.check().map_err(at)?;
        cfg.service_map().map_err(at)?;
        cfg.audit.check().map_err(at)?;
        cfg.sshd.check().map_err(at)?;
        cfg.socket.check().map_err(at)?;
        cfg.node.check().map_err(at)?;
        Ok(cfg)
    }

    /// Reads `path`, or the embedded default when it does not exist.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => AgentConfig::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                AgentConfig::parse(EMBEDDED_DEFAULT, "(embedded default agent.yaml)")
            }
            Err(e) => Err(ConfigError {
                file: path.display().to_string(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// `node.id`, trimmed; `None` when absent or empty.
    pub fn node_id(&self) -> Option<String> {
        self.node
            .id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    }

    /// `node.id` as the agent uses it: agent.yaml's, else the host ID in
    /// Teleport's host_uuid file (`node.teleport_data_dir`), with where it
    /// came from or why there is none (config/host_uuid.rs).
    pub fn resolve_node_id(&self) -> ResolvedNodeId {
        resolve_node_id(self.node_id(), self.node.teleport_data_dir())
    }

    pub fn node_name(&self) -> String {
        self.node.name.clone().unwrap_or_else(|| {
            rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned()
        })
    }

    pub fn policy_source(&self) -> Result<PolicySource, String> {
        PolicySource::parse(&self.cluster.source)
    }

    pub fn service_map(&self) -> Result<ServiceMap, String> {
        ServiceMap::new(&self.services)
    }

    pub fn sshd_enforces_touch(&self) -> bool {
        self.sshd.enforces_touch()
    }

    pub fn sshd_enforces_verify(&self) -> bool {
        self.sshd.enforces_verify()
    }
}

fn strip_location_prefix(msg: &str) -> String {
    // "error: line 8 column 24: text" -> "text"
    let m = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = m.strip_prefix("line ") {
        if let Some(idx) = rest.find(": ") {
            return rest[idx + 2..].to_string();
        }
    }
    m.to_string()
}
