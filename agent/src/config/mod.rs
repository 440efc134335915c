//! The agent's configuration (`agent.yaml`).

mod agent_config;
mod approval_url;
mod attached_config;
mod duration;
mod https_url;
mod manifest_source;
mod piv_config;
mod policy_source;
mod service_map;
mod sessions_config;

pub use agent_config::{
    AgentConfig, AuditConfig, CaPin, ChallengeConfig, ClusterConfig, ConfigError, FailMode,
    NodeConfig, SigningKeyText, SocketConfig, SshdConfig, DEFAULT_CONFIG_PATH, EMBEDDED_DEFAULT,
    MAX_REUSE_WINDOW,
};
pub use approval_url::ApprovalUrl;
pub use attached_config::AttachedKeysConfig;
pub use duration::parse_duration;
pub use https_url::https_url;
pub use manifest_source::ManifestSource;
pub use piv_config::PivConfig;
pub use policy_source::{bundle_mode_warning, PolicySource};
pub use service_map::ServiceMap;
pub use sessions_config::SessionsConfig;
