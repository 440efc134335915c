//! The agent's configuration (`agent.yaml`).

mod agent_config;
mod approval_url;
mod attached_config;
mod duration;
mod manifest_source;
mod piv_config;
mod service_map;
mod sessions_config;

pub use agent_config::{
    https_url, AgentConfig, AuditConfig, CaPin, ChallengeConfig, ClusterConfig, ConfigError,
    FailMode, NodeConfig, PolicySource, SigningKeyText, SocketConfig, SshdConfig,
    DEFAULT_CONFIG_PATH, EMBEDDED_DEFAULT, MAX_REUSE_WINDOW,
};
pub use approval_url::ApprovalUrl;
pub use attached_config::AttachedKeysConfig;
pub use duration::parse_duration;
pub use manifest_source::{bundle_mode_warning, ManifestSource};
pub use piv_config::PivConfig;
pub use service_map::ServiceMap;
pub use sessions_config::SessionsConfig;
