//! The real `mfa-agent`, started for one test with a generated agent.yaml and
//! bundle, plus its JSON-lines audit log.

mod bundle;
mod config;
mod process;

pub use bundle::{Bundle, WEBAUTHN_RP_ID};
pub use config::AgentConfig;
pub use process::Agent;

/// Quotes `s` as a YAML double-quoted scalar (JSON strings are valid YAML).
pub(crate) fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}
