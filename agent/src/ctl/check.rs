//! `mfactl check PATH`: validates a policy bundle or an agent.yaml.

use std::path::Path;

use crate::config::AgentConfig;
use crate::policy::load_bundle_path;

/// What a file turned out to be, once valid.
pub enum Checked {
    Bundle {
        roles: usize,
        users: usize,
        locks: usize,
        devices: usize,
        warnings: Vec<String>,
        revision: String,
    },
    AgentConfig {
        node: String,
        source: String,
        /// What does not match this host (sshd's PubkeyAuthOptions).
        warnings: Vec<String>,
    },
}

/// An agent.yaml is recognised by its top-level keys; anything else is
/// checked as a bundle. A directory is always a bundle.
pub fn run_check(path: &Path) -> Result<Checked, String> {
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if looks_like_agent_config(&text) {
            let cfg = AgentConfig::parse(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            let mut warnings = super::doctor::pubkey_options_warnings(&cfg);
            if let Ok(source) = cfg.policy_source() {
                warnings.extend(crate::config::bundle_mode_warning(&source));
            }
            return Ok(Checked::AgentConfig {
                node: cfg.node_name(),
                source: cfg.cluster.source.clone(),
                warnings,
            });
        }
    }
    let b = load_bundle_path(path).map_err(|e| e.to_string())?;
    Ok(Checked::Bundle {
        roles: b.roles().len(),
        users: b.users().len(),
        locks: b.locks().len(),
        devices: b.devices().len(),
        warnings: b.warnings.clone(),
        revision: b.revision.clone(),
    })
}

/// A file of comments only (every key commented out, as the packaged
/// agent.yaml) is an agent.yaml of defaults: an empty bundle is no policy.
fn looks_like_agent_config(text: &str) -> bool {
    let top: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('\t'))
        .filter(|l| !l.trim().is_empty() && l.trim() != "---")
        .filter_map(|l| l.split(':').next())
        .collect();
    if top.is_empty() {
        return true;
    }
    !top.contains(&"kind")
        && top.iter().any(|k| {
            matches!(
                *k,
                "node"
                    | "cluster"
                    | "socket"
                    | "services"
                    | "fail_mode"
                    | "audit"
                    | "sshd"
                    | "reuse_window"
                    | "sessions"
                    | "piv"
                    | "challenge"
            )
        })
}
