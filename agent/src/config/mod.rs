//! The agent's configuration (`agent.yaml`).

mod agent_config;
#[cfg(test)]
mod agent_config_tests;
mod approval_url;
mod attached_config;
mod audit_config;
mod challenge_config;
mod cluster_config;
mod cluster_keys;
mod config_error;
mod config_keys;
mod duration;
mod host_uuid;
mod https_url;
mod manifest_source;
mod node_config;
mod piv_config;
mod policy_source;
mod service_map;
mod sessions_config;
mod socket_config;
mod sshd_config;
mod unit_paths;

pub use agent_config::{
    AgentConfig, FailMode, DEFAULT_CONFIG_PATH, EMBEDDED_DEFAULT, MAX_REUSE_WINDOW,
};
pub use approval_url::ApprovalUrl;
pub use attached_config::AttachedKeysConfig;
pub use audit_config::AuditConfig;
pub use challenge_config::ChallengeConfig;
pub use cluster_config::ClusterConfig;
pub use cluster_keys::{CaPin, SigningKeyText};
pub use config_error::ConfigError;
pub use config_keys::agent_config_keys;
pub use duration::parse_duration;
pub use host_uuid::{
    keep_last_good, parse_host_uuid, read_host_uuid, NodeIdSource, ResolvedNodeId,
    DEFAULT_TELEPORT_DATA_DIR, HOST_UUID_FILE,
};
pub use https_url::https_url;
pub use manifest_source::ManifestSource;
pub use node_config::NodeConfig;
pub use piv_config::PivConfig;
pub use policy_source::{bundle_mode_warning, PolicySource};
pub use service_map::ServiceMap;
pub use sessions_config::SessionsConfig;
pub use socket_config::SocketConfig;
pub use sshd_config::SshdConfig;
pub use unit_paths::{unit_path_warnings, UNIT_WRITABLE_DIRS};
