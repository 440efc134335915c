//! `mfactl check PATH`: validates a policy bundle or an agent.yaml.

use std::path::Path;

use crate::config::{agent_config_keys, unit_path_warnings, AgentConfig};
use crate::policy::{load_bundle_argument, source_path_refusal, Bundle, DeviceKind, WebauthnForm};
use crate::verify::webauthn::{u2f_public_key_to_cose, WebauthnCredential};

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
        /// `node.id` as the agent would use it here: agent.yaml's, or the
        /// one in Teleport's host_uuid file; or why there is none.
        node_id: crate::config::ResolvedNodeId,
        source: String,
        /// What does not match this host (sshd's PubkeyAuthOptions), and
        /// paths the shipped systemd unit does not let the agent write.
        warnings: Vec<String>,
    },
}

/// An agent.yaml is recognised by its top-level keys; anything else is
/// checked as a bundle. A directory is always a bundle.
pub fn run_check(path: &Path) -> Result<Checked, String> {
    let mut top = Vec::new();
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if looks_like_agent_config(&text) {
            let cfg = AgentConfig::parse(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            // The agent would not start on this host (ipc/socket_dir.rs).
            crate::ipc::check_socket_path(&cfg.socket.path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let mut warnings = super::doctor::pubkey_options_warnings(&cfg);
            if let Ok(source) = cfg.policy_source() {
                warnings.extend(crate::config::bundle_mode_warning(&source));
            }
            warnings.extend(unit_path_warnings(&cfg));
            let node_id = cfg.resolve_node_id();
            warnings.extend(node_id_warning(&node_id));
            return Ok(Checked::AgentConfig {
                node: cfg.node_name(),
                node_id,
                source: cfg.cluster.source.clone(),
                warnings,
            });
        }
        top = top_level_keys(&text);
    }
    let b = load_bundle_argument(path).map_err(|e| {
        // Neither: say what would have made it an agent.yaml (a misspelt
        // key is the likely cause).
        if top.is_empty() || top.contains(&"kind".to_string()) {
            e.to_string()
        } else {
            format!(
                "{e}\n(read as a policy bundle: no top-level key is one of agent.yaml's: {})",
                agent_config_keys().join(", ")
            )
        }
    })?;
    let mut warnings = b.warnings.clone();
    if let Some(e) = source_path_refusal(path) {
        // Where it is the policy the agent reads, the agent refuses it:
        // no warning then, an error.
        if is_configured_source(path, Path::new(crate::config::DEFAULT_CONFIG_PATH)) {
            return Err(format!(
                "{e}\n(this is agent.yaml's cluster.source: the agent refuses it, and keeps the policy it had, or none)"
            ));
        }
        warnings.push(format!(
            "valid, but the agent would refuse it where it is as its cluster.source (keep policy files in directories only root may change, like /etc/pam-mfa/policy.d): {e}"
        ));
    }
    warnings.extend(unusable_webauthn_keys(&b));
    warnings.extend(node_locks_warning(&b, std::time::SystemTime::now()));
    Ok(Checked::Bundle {
        roles: b.roles().len(),
        users: b.users().len(),
        locks: b.locks().len(),
        devices: b.devices().len(),
        warnings,
        revision: b.revision.clone(),
    })
}

/// Whether `path` is (or is inside) the `file://` source of the agent.yaml
/// at `config_path` (the built-in default's when there is none).
fn is_configured_source(path: &Path, config_path: &Path) -> bool {
    let config = AgentConfig::load(config_path);
    let Ok(crate::config::PolicySource::Path(source)) = config
        .as_ref()
        .map_err(|_| ())
        .and_then(|c| c.policy_source().map_err(|_| ()))
    else {
        return false;
    };
    let real = |p: &Path| std::fs::canonicalize(p).ok();
    match (real(path), real(&source)) {
        (Some(p), Some(s)) => p == s || p.parent() == Some(s.as_path()),
        _ => false,
    }
}

/// No `node.id`, neither in agent.yaml nor in Teleport's host_uuid file
/// (config/host_uuid.rs). Teleport names a node by its host UUID in lock
/// targets (lib/srv/ctx.go `ComputeLockTargets`: `{ServerID: serverID}`,
/// `HostFQDN(serverID, clusterName)`) and in a resource access request
/// (`checkAllowedResources` compares nothing else): without it a lock
/// naming this node that way does not hold it, and a certificate limited to
/// a request's resources is refused here (policy/limits.rs). A warning,
/// whatever `cluster.name` says: both come from the cluster's policy.
fn node_id_warning(node_id: &crate::config::ResolvedNodeId) -> Option<String> {
    node_id.id.is_none().then(|| {
        format!(
            "node.id is unset ({}): a server_id/node lock naming this node by its Teleport host UUID (as `tctl lock --server-id` and the web UI write them) does not hold it, only one naming node.name does; and a Teleport certificate limited to the resources of an access request (teleport-allowed-resources) cannot be honoured and is refused on this host; on a Teleport node, set node.id to its host UUID (Teleport's host_uuid file, or metadata.name in `tctl get nodes`), or node.teleport_data_dir to its data directory",
            node_id.describe()
        )
    })
}

/// Locks that name a node by `node`/`server_id`: as in Teleport they hold
/// a node by its host UUID, which an agent knows only from node.id or
/// Teleport's host_uuid file; an agent that knows neither matches them
/// against node.name alone, and says so (`mfactl status`, `doctor`).
/// Only locks in force at `now` are counted: an expired one holds no one.
fn node_locks_warning(b: &Bundle, now: std::time::SystemTime) -> Option<String> {
    let named: Vec<&str> = b
        .locks()
        .iter()
        .filter(|l| l.target.node.is_some() || l.target.server_id.is_some())
        .filter(|l| l.is_in_force(now))
        .map(|l| l.name.as_str())
        .collect();
    (!named.is_empty()).then(|| {
        format!(
            "{} lock(s) in force name a node by server_id/node ({}): Teleport names a node there by its host UUID, and an agent holds its node by them only when it knows that UUID (node.id in agent.yaml, or Teleport's host_uuid file); one that does not compares them with node.name only (`mfactl status` on a node shows its node id)",
            named.len(),
            named.join(", ")
        )
    })
}

/// WebAuthn devices whose key this agent cannot use: the agent leaves them
/// out when a tap is verified (a bundle loads without a verifier); said here
/// so that a bad key is seen before its owner needs it.
fn unusable_webauthn_keys(b: &Bundle) -> Vec<String> {
    b.devices()
        .iter()
        .filter_map(|d| {
            let DeviceKind::Webauthn(w) = &d.kind else {
                return None;
            };
            let cose = match w.form {
                WebauthnForm::Webauthn => Ok(w.public_key.to_vec()),
                WebauthnForm::U2f => u2f_public_key_to_cose(&w.public_key),
            };
            let why = cose
                .and_then(|c| WebauthnCredential::new(w.credential_id.to_vec(), c))
                .err()?;
            Some(format!(
                "device {:?} of user {:?} cannot answer a tap: {why}",
                d.name, d.user
            ))
        })
        .collect()
}

/// A Teleport resource always has a top-level `kind`; agent.yaml never
/// has, and has at least one of its own keys (read from `AgentConfig`
/// itself, so a new section is never taken for a bundle). A file of
/// comments only (every key commented out, as the packaged agent.yaml) is
/// an agent.yaml of defaults: an empty bundle is no policy.
fn looks_like_agent_config(text: &str) -> bool {
    let top = top_level_keys(text);
    if top.is_empty() {
        return true;
    }
    let keys = agent_config_keys();
    !top.iter().any(|k| k == "kind") && top.iter().any(|k| keys.contains(&k.as_str()))
}

/// The keys of a block-style YAML text's top-level mappings (every
/// document's), unquoted.
fn top_level_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('\t'))
        .filter(|l| !l.trim().is_empty() && l.trim() != "---")
        .filter_map(|l| l.split(':').next())
        .map(|k| k.trim().trim_matches(['"', '\'']).to_string())
        .collect()
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
