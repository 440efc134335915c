//! Reloading agent.yaml (SIGHUP, `systemctl reload mfa-agent`, `mfactl
//! reload`): the file is parsed and checked in full first; a bad file, or
//! one that changes what only a restart can change, is refused whole and
//! the running configuration stays.

use std::fmt::Debug;

use super::agent_state::AgentState;
use crate::audit::AuditEvent;
use crate::config::{keep_last_good, AgentConfig, NodeIdSource};
use crate::policy::NodeInfo;

/// What a reload of agent.yaml did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigReload {
    /// The new file is in force; the top-level keys that changed.
    Applied { changed: Vec<String> },
    /// The file says what is in force already.
    Unchanged,
    /// Refused (with where, and what needs a restart); nothing changed.
    Refused { error: String },
}

impl ConfigReload {
    /// One line for `mfactl reload`, the log and the audit event.
    pub fn describe(&self, path: &str) -> String {
        match self {
            ConfigReload::Applied { changed } => {
                format!("{path}: applied (changed: {})", changed.join(", "))
            }
            ConfigReload::Unchanged => format!("{path}: unchanged"),
            ConfigReload::Refused { error } => {
                format!("{path} refused: {error}; the running configuration stays")
            }
        }
    }
}

/// Keys read once at start (the socket, the policy source and its client,
/// the audit sink, PIV roots, this cluster's name): a change needs
/// `systemctl restart mfa-agent`. Every key is here or in [`live_changes`]:
/// one in neither would be reported `unchanged` and silently not applied.
fn restart_only(old: &AgentConfig, new: &AgentConfig) -> Vec<&'static str> {
    let (o, n) = (&old.cluster, &new.cluster);
    let pairs: [(&'static str, bool); 18] = [
        ("socket.path", differs(&old.socket.path, &new.socket.path)),
        (
            "socket.keys_user",
            differs(&old.socket.keys_user, &new.socket.keys_user),
        ),
        ("audit.sink", differs(&old.audit.sink, &new.audit.sink)),
        ("piv", differs(&old.piv, &new.piv)),
        ("cluster.source", differs(&o.source, &n.source)),
        (
            "cluster.poll_interval",
            differs(&o.poll_interval, &n.poll_interval),
        ),
        (
            "cluster.max_backoff",
            differs(&o.max_backoff, &n.max_backoff),
        ),
        ("cluster.token_file", differs(&o.token_file, &n.token_file)),
        ("cluster.ca_file", differs(&o.ca_file, &n.ca_file)),
        ("cluster.ca_pins", differs(&o.ca_pins, &n.ca_pins)),
        (
            "cluster.signing_keys",
            differs(&o.signing_keys, &n.signing_keys),
        ),
        (
            "cluster.source_name",
            differs(&o.source_name, &n.source_name),
        ),
        (
            "cluster.signature_source",
            differs(&o.signature_source, &n.signature_source),
        ),
        (
            "cluster.connect_timeout",
            differs(&o.connect_timeout, &n.connect_timeout),
        ),
        ("cluster.timeout", differs(&o.timeout, &n.timeout)),
        (
            "cluster.max_bundle_bytes",
            differs(&o.max_bundle_bytes, &n.max_bundle_bytes),
        ),
        ("cluster.state_dir", differs(&o.state_dir, &n.state_dir)),
        // Which user CA is this cluster's (a trusted cluster's certificate
        // has its roles mapped): documented as read only at start, as the
        // other cluster keys (agent.yaml(5)).
        ("cluster.name", differs(&o.name, &n.name)),
    ];
    pairs.into_iter().filter(|p| p.1).map(|p| p.0).collect()
}

/// The keys that change live, and whether they did.
fn live_changes(old: &AgentConfig, new: &AgentConfig) -> Vec<String> {
    let pairs: [(&str, bool); 11] = [
        ("node", differs(&old.node, &new.node)),
        (
            "approval_url",
            differs(&old.approval_url, &new.approval_url),
        ),
        ("services", differs(&old.services, &new.services)),
        ("fail_mode", differs(&old.fail_mode, &new.fail_mode)),
        (
            "reuse_window",
            differs(&old.reuse_window, &new.reuse_window),
        ),
        ("sshd", differs(&old.sshd, &new.sshd)),
        ("challenge", differs(&old.challenge, &new.challenge)),
        ("sessions", differs(&old.sessions, &new.sessions)),
        (
            "attached_keys",
            differs(&old.attached_keys, &new.attached_keys),
        ),
        (
            "cluster.max_staleness",
            differs(&old.cluster.max_staleness, &new.cluster.max_staleness),
        ),
        (
            "cluster.lock_view_max_age",
            differs(
                &old.cluster.lock_view_max_age,
                &new.cluster.lock_view_max_age,
            ),
        ),
    ];
    pairs
        .into_iter()
        .filter(|p| p.1)
        .map(|p| p.0.to_string())
        .collect()
}

/// The configuration types hold plain data whose Debug form shows all of it.
fn differs<T: Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") != format!("{b:?}")
}

/// Reads agent.yaml again and puts what changed in force.
pub fn reload_config(state: &AgentState) -> ConfigReload {
    let Some(path) = &state.config_path else {
        return ConfigReload::Refused {
            error: "this agent was started without a configuration file to reload".into(),
        };
    };
    let result = check_new(state, path);
    let shown = path.display().to_string();
    let (kind, verdict) = match &result {
        ConfigReload::Applied { .. } => ("config_reload", "ok"),
        ConfigReload::Unchanged => return result,
        ConfigReload::Refused { .. } => ("config_rejected", "rejected"),
    };
    let ev = AuditEvent::new(
        kind,
        verdict,
        &state.node.name,
        &state.revision(),
        result.describe(&shown),
    );
    state.audit(&ev);
    eprintln!("mfa-agent: {}", result.describe(&shown));
    result
}

fn check_new(state: &AgentState, path: &std::path::Path) -> ConfigReload {
    let refused = |error: String| ConfigReload::Refused { error };
    let new = match AgentConfig::load(path) {
        Ok(c) => c,
        Err(e) => return refused(e.to_string()),
    };
    let services = match new.service_map() {
        Ok(s) => s,
        Err(e) => return refused(format!("services: {e}")),
    };
    let old = state.config.get();
    let restart = restart_only(old, &new);
    if !restart.is_empty() {
        return refused(format!(
            "{} cannot change while the agent runs (systemctl restart mfa-agent \
             applies them); nothing was applied",
            restart.join(", ")
        ));
    }
    let mut changed = live_changes(old, &new);
    // Read again at each reload: Teleport may have joined (or re-joined)
    // since, with agent.yaml as it was. A failed read with the same
    // settings keeps the last good ID (config/host_uuid.rs keep_last_good).
    let same_settings = old.node_id() == new.node_id()
        && old.node.teleport_data_dir() == new.node.teleport_data_dir();
    let running_id = state.node_id.get();
    let node_id = keep_last_good(running_id, new.resolve_node_id(), same_settings);
    if node_id != *running_id {
        eprintln!("mfa-agent: {}", node_id.summary());
        // A kept ID is named even beside other node changes: the audit
        // event and `mfactl reload` say the read failed.
        let kept = matches!(node_id.source, NodeIdSource::HostUuidKept { .. });
        if kept || !changed.iter().any(|k| k == "node") {
            changed.push(format!("node.id ({})", node_id.describe()));
        }
    }
    if changed.is_empty() {
        return ConfigReload::Unchanged;
    }
    let node = NodeInfo {
        name: new.node_name(),
        id: node_id.id.clone(),
        labels: new.node.labels.clone(),
    };
    state.services.replace(services);
    state.node.replace(node);
    state.node_id.replace(node_id);
    state.config.replace(new);
    // A node's name or labels decide sessions too.
    crate::sessions::enforce(state);
    ConfigReload::Applied { changed }
}
