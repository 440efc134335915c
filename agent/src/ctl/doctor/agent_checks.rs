//! The agent (running, policy usable, node and labels as agent.yaml says)
//! and sudo's cached authentications.

use pam_mfa_protocol::StatusReport;

use super::{Facts, Finding, Severity};
use crate::config::AgentConfig;

pub fn check_agent(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let path = &f.agent_config_path;
    let config = match &f.agent_config {
        Some(Err(e)) => {
            out.push(Finding::new(
                "agent.config_invalid",
                Severity::Error,
                format!("agent.yaml is refused: {e}"),
                "the agent will not start with it, and refuses it on reload",
                format!("fix the place named, then `mfactl check {path}` and `mfactl reload`"),
            ));
            None
        }
        Some(Ok(c)) => Some(c),
        None => None,
    };
    if let Some(c) = config {
        check_node_config(c, path, &mut out);
        check_unsigned_source(c, path, &mut out);
        check_rollback_protection(c, path, &mut out);
    }
    match &f.agent_status {
        None => {}
        Some(Err(e)) => out.push(Finding::new(
            "agent.not_running",
            Severity::Error,
            format!("the agent does not answer: {e}"),
            "pam_mfa.so refuses every login it checks while the agent is down (fail_mode closed)",
            "`systemctl enable --now mfa-agent`; `journalctl -u mfa-agent` says why it stopped"
                .into(),
        )),
        Some(Ok(s)) => {
            check_policy_usable(s, &mut out);
            check_policy_files_refused(s, &mut out);
            if let Some(c) = config {
                check_config_reloaded(s, c, path, &mut out);
                check_node_id(s, c, path, &mut out);
            }
        }
    }
    out
}

/// An https:// bundle source with no `signing_keys`: whoever answers the
/// request writes the policy, and the policy says who logs in.
fn check_unsigned_source(c: &AgentConfig, path: &str, out: &mut Vec<Finding>) {
    let Ok(crate::config::PolicySource::Https(url)) = c.policy_source() else {
        return;
    };
    if !c.cluster.signing_keys.is_empty() {
        return;
    }
    out.push(Finding::new(
        "agent.unsigned_source",
        Severity::Error,
        format!("cluster.source {url} is taken without a signature (no cluster.signing_keys)"),
        "whoever answers that request (the server, a CDN in front of it, anyone with a certificate for its name) chooses the users, roles, registered keys and certificate authorities: sshd then takes their key as root on this host",
        format!("publish a signed manifest (`mfactl publish`), and set cluster.source to its manifest.json, cluster.source_name and cluster.signing_keys in {path}"),
    ));
}

/// An https:// bundle source accepts any older signed bundle.
fn check_rollback_protection(c: &AgentConfig, path: &str, out: &mut Vec<Finding>) {
    let Some(what) = c
        .policy_source()
        .ok()
        .and_then(|s| crate::config::bundle_mode_warning(&s))
    else {
        return;
    };
    out.push(Finding::new(
        "agent.no_rollback_protection",
        Severity::Warning,
        what,
        "a removed lock or device can be brought back by replaying an older bundle",
        format!(
            "run `mfactl publish` on the Auth Service host, serve its --out directory, and set cluster.source to its manifest.json, cluster.source_name and cluster.signing_keys in {path}"
        ),
    ));
}

/// agent.yaml names the node and gives it labels.
fn check_node_config(c: &AgentConfig, path: &str, out: &mut Vec<Finding>) {
    if c.node.name.is_none() {
        out.push(Finding::new(
            "agent.node_name_unset",
            Severity::Warning,
            format!(
                "{path} sets no node.name: the host name ({}) is used",
                c.node_name()
            ),
            "roles match nodes by the name and labels Teleport knows them by",
            format!("set node.name in {path}, then `mfactl reload`"),
        ));
    }
    if c.node.labels.is_empty() {
        out.push(Finding::new(
            "agent.node_labels_unset",
            Severity::Warning,
            format!("{path} sets no node.labels"),
            "a role's node_labels match no node without labels: every login is decided as on an unlabelled node",
            format!("set node.labels (e.g. `labels: {{ env: prod }}`) in {path}, then `mfactl reload`"),
        ));
    }
}

/// No node.id in the running agent (neither agent.yaml's nor Teleport's
/// host_uuid file's) while the policy in force locks nodes other than
/// node.name. Teleport names a node in a `server_id` lock by its host UUID
/// (what `tctl lock --server-id` and the web UI write, and what
/// lib/srv/ctx.go `ComputeLockTargets` holds a login by); the agent matches
/// node.id there beside node.name (policy/locks.rs
/// `LockSubject::node_names`), and a resource access request's certificate
/// reaches this node only by it (policy/limits.rs; `mfactl check` warns of
/// that whenever node.id is unset). A host with no Teleport host UUID
/// (plain OpenSSH) has none to set: said only when such a lock is in force,
/// the one case where it may be this host's.
fn check_node_id(s: &StatusReport, c: &AgentConfig, path: &str, out: &mut Vec<Finding>) {
    let n = s.counts.node_locks_elsewhere;
    if n == 0 || s.node_id.is_some() {
        return;
    }
    let why_none = if s.node_id_source.is_empty() {
        String::new()
    } else {
        format!(": {}", s.node_id_source)
    };
    out.push(Finding::new(
        "agent.node_id_unset",
        Severity::Warning,
        format!(
            "the agent knows no node.id (this node's Teleport host UUID{why_none}), and the policy in force holds {n} lock(s) whose node/server_id is not {}",
            c.node_name()
        ),
        "Teleport's locks name a node by its host UUID (`tctl lock --server-id`, the web UI): without node.id such a lock does not hold this host even when it names it, only a lock naming node.name does; and a certificate limited to the resources of an access request is refused here, since they name nodes by that UUID too",
        format!("set node.id in {path} to the host UUID (the content of Teleport's host_uuid file, or the node's metadata.name in `tctl get nodes`), or node.teleport_data_dir to the Teleport node's data directory when it is not /var/lib/teleport, then `mfactl reload`; a host that is no Teleport node is named by node.name only"),
    ));
}

/// The running agent has a policy logins are decided from.
fn check_policy_usable(s: &StatusReport, out: &mut Vec<Finding>) {
    let state = s.sync.policy_state.as_str();
    if s.policy_revision.is_empty() || (!state.is_empty() && state != "usable") {
        let why_not = if s.policy_revision.is_empty() {
            "no policy is loaded".to_string()
        } else {
            state.to_string()
        };
        out.push(Finding::new(
            "agent.policy_unusable",
            Severity::Error,
            format!(
                "the agent has no usable policy ({why_not}){}",
                s.last_error
                    .as_ref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ),
            "logins follow fail_mode: with `closed`, every login pam-mfa checks is refused",
            format!("put the bundle where cluster.source ({}) points, `mfactl check` it, then `mfactl reload`", s.policy_source),
        ));
    }
}

/// A `file://` source whose last read was refused while a policy is in
/// force: the agent decides with the last good one (kept in memory, or
/// its last known good copy after a restart), not with what is on disk.
/// An error when that copy could not be saved: a restart leaves no policy.
fn check_policy_files_refused(s: &StatusReport, out: &mut Vec<Finding>) {
    let Some(error) = &s.last_error else {
        return;
    };
    if s.policy_revision.is_empty() || !s.policy_source.starts_with("file://") {
        return;
    }
    let (severity, at_restart) = if s.sync.lost_at_restart {
        (
            Severity::Error,
            "its last known good copy could not be saved, so a restart leaves no policy: logins then follow fail_mode (with `closed`, every login pam-mfa checks is refused)",
        )
    } else {
        (
            Severity::Warning,
            "a restart starts from its last known good copy in cluster.state_dir; edits to the files take effect only once they load again",
        )
    };
    let kept = if s.sync.from_cache {
        "its last known good copy"
    } else {
        "the last good bundle read"
    };
    out.push(Finding::new(
        "agent.policy_files_refused",
        severity,
        format!(
            "the agent decides with {kept} (revision {}), not with {}: its last read was refused: {error}",
            crate::ctl::short(&s.policy_revision),
            s.policy_source
        ),
        at_restart,
        "fix or put back the bundle files (`mfactl check` them), then `mfactl reload`".into(),
    ));
}

/// The running agent decides as the node agent.yaml describes now.
fn check_config_reloaded(s: &StatusReport, c: &AgentConfig, path: &str, out: &mut Vec<Finding>) {
    let name = c.node_name();
    let id_differs = c
        .node_id()
        .is_some_and(|id| s.node_id.as_deref() != Some(id.as_str()));
    if s.node != name || s.labels != c.node.labels || id_differs {
        out.push(Finding::new(
            "agent.config_not_reloaded",
            Severity::Error,
            format!(
                "the agent decides as node {} {:?} (node.id {}), but {path} says {name} {:?} (node.id {})",
                s.node,
                s.labels,
                s.node_id.as_deref().unwrap_or("none"),
                c.node.labels,
                c.node_id().as_deref().unwrap_or("unset")
            ),
            "agent.yaml was edited and not reloaded: every decision is for the wrong node",
            "`mfactl reload` (or `systemctl reload mfa-agent`)".into(),
        ));
    }
}

/// sudo's "Authentication timestamp timeout: N minutes" from `sudo -V`.
pub fn sudo_timestamp_minutes(text: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("Authentication timestamp timeout:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

pub fn check_sudo(f: &Facts) -> Vec<Finding> {
    let Some(text) = &f.sudo_version else {
        return Vec::new();
    };
    // With pam_mfa.so in sudo's account stack every sudo is decided: the
    // timestamp spares only the password.
    if super::sudoers::account_has_mfa(f, "sudo") {
        return Vec::new();
    }
    match sudo_timestamp_minutes(text) {
        Some(m) if m != 0.0 => vec![Finding::new(
            "sudo.timestamp_timeout",
            Severity::Warning,
            format!("sudo caches an authentication for {m} minutes (timestamp_timeout)"),
            "within that time sudo asks PAM nothing: a tap is not asked again, and a new lock does not stop sudo",
            "`echo 'Defaults timestamp_timeout=0' > /etc/sudoers.d/pam-mfa && chmod 440 /etc/sudoers.d/pam-mfa && visudo -c`".into(),
        )],
        _ => Vec::new(),
    }
}
