//! `mfactl status` for people: one line per fact.

use pam_mfa_protocol::StatusReport;

fn ago(secs: Option<u64>) -> String {
    secs.map(|s| format!(" ({s}s ago)")).unwrap_or_default()
}

/// Manifest mode: the manifest in force, and the last one refused.
fn render_manifest(m: &pam_mfa_protocol::ManifestStatus) -> String {
    let mut out = format!("  manifest:        source {}", m.source_name);
    match m.serial {
        Some(serial) => out.push_str(&format!(
            ", serial {serial}, issued {}, expires {}{}\n",
            m.issued_at.as_deref().unwrap_or("?"),
            m.expires_at.as_deref().unwrap_or("?"),
            if m.expired {
                " (EXPIRED: policy stale)"
            } else {
                ""
            }
        )),
        None => out.push_str(", none accepted yet\n"),
    }
    if let Some(reason) = &m.last_refusal {
        out.push_str(&format!(
            "  last refusal:    {} at {}: {reason}\n",
            m.last_refusal_kind.as_deref().unwrap_or("refused"),
            m.last_refusal_at.as_deref().unwrap_or("?")
        ));
    }
    out
}

/// The staleness line: the policy's and the lock view's, with their limits.
fn staleness_line(sync: &pam_mfa_protocol::SyncStatus) -> String {
    format!(
        "  staleness:       policy {} (max {}), lock view {} (max {}s, locking_mode {})\n",
        if sync.policy_stale { "STALE" } else { "fresh" },
        if sync.max_staleness_seconds == 0 {
            "never".to_string()
        } else {
            format!("{}s", sync.max_staleness_seconds)
        },
        if sync.lock_view_stale {
            "STALE"
        } else {
            "fresh"
        },
        sync.lock_view_max_age_seconds,
        if sync.locking_mode.is_empty() {
            "-"
        } else {
            &sync.locking_mode
        }
    )
}

/// The node's Teleport host UUID and where it came from; without one, a
/// warning while locks in force name another node than this one's name
/// (one may name it by that UUID, as Teleport does: it cannot hold it).
fn node_id_lines(s: &StatusReport) -> String {
    let source = if s.node_id_source.is_empty() {
        String::new()
    } else {
        format!(" ({})", s.node_id_source)
    };
    let Some(id) = &s.node_id else {
        let mut out = format!("  node id:         none{source}\n");
        let n = s.counts.node_locks_elsewhere;
        if n > 0 {
            out.push_str(&format!(
                "  WARNING:         {n} server_id/node lock(s) in force name another node than {}: one naming this node by its Teleport host UUID cannot hold it; set node.id in agent.yaml to that UUID, or node.teleport_data_dir to the Teleport node's data directory (`mfactl doctor`)\n",
                s.node
            ));
        }
        return out;
    };
    format!("  node id:         {id}{source}\n")
}

/// The vanished users: how many, and the most recent of them.
fn render_vanished(s: &StatusReport) -> String {
    let mut out = String::new();
    if let Some(e) = &s.vanished_users_error {
        out.push_str(&format!("  vanished users:  error: {e}\n"));
    }
    let n = s.counts.vanished_users.max(s.vanished_users.len());
    if n == 0 {
        return out;
    }
    out.push_str(&format!(
        "  vanished users:  {n} (no longer in the policy: their logins are denied as those of users Teleport deleted; `mfactl forget-user NAME` forgets one)\n"
    ));
    for u in &s.vanished_users {
        out.push_str(&format!(
            "                   {} (logins {}): gone since {}, remembered until {}\n",
            u.name,
            u.logins.join(", "),
            u.since,
            u.until
        ));
    }
    if n > s.vanished_users.len() && !s.vanished_users.is_empty() {
        out.push_str(&format!(
            "                   ... and {} more\n",
            n - s.vanished_users.len()
        ));
    }
    out
}

/// `mfactl status` for people.
pub fn render_status(s: &StatusReport) -> String {
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = String::new();
    out.push_str(&format!(
        "mfa-agent {} on node {} [{}]\n",
        s.agent_version,
        s.node,
        labels.join(", ")
    ));
    out.push_str(&node_id_lines(s));
    out.push_str(&format!("  policy source:   {}\n", s.policy_source));
    let rev = if s.policy_revision.is_empty() {
        "(none loaded: logins follow fail_mode)"
    } else {
        &s.policy_revision
    };
    out.push_str(&format!("  policy revision: {rev}\n"));
    out.push_str(&format!(
        "  last load:       {}\n",
        s.last_load.as_deref().unwrap_or("never")
    ));
    out.push_str(&format!(
        "  fetched:         {}{}\n",
        s.sync.policy_fetched_at.as_deref().unwrap_or("never"),
        ago(s.sync.policy_age_seconds)
    ));
    out.push_str(&format!(
        "  last contact:    {}{}\n",
        s.sync.last_contact.as_deref().unwrap_or("never"),
        ago(s.sync.last_contact_age_seconds)
    ));
    if s.sync.from_cache {
        // A file source's copy is in force only while its files are refused.
        out.push_str(if s.policy_source.starts_with("file://") {
            "  from cache:      yes (the last known good copy: the source's files are refused, see last error)\n"
        } else {
            "  from cache:      yes (last known good, not yet confirmed by the source)\n"
        });
    }
    out.push_str(&format!("  policy state:    {}\n", s.sync.policy_state));
    if let Some(since) = &s.sync.pull_started {
        out.push_str(&format!(
            "  pulling:         since {since}{} (cluster.timeout ends it)\n",
            ago(s.sync.pull_seconds)
        ));
    }
    if s.policy_revision.is_empty() {
        // "fresh" would read as "fine": there is nothing to be fresh.
        out.push_str("  staleness:       - (no policy loaded: nothing is decided from one)\n");
    } else {
        out.push_str(&staleness_line(&s.sync));
    }
    out.push_str(&format!(
        "  last error:      {}\n",
        s.last_error.as_deref().unwrap_or("none")
    ));
    if s.sync.lost_at_restart {
        out.push_str(
            "  at restart:      NO POLICY: the policy in force is no longer on disk (the last read of the source was refused) and its last known good copy could not be saved (cache error); the agent keeps it until it restarts, then has none and logins follow fail_mode\n",
        );
    }
    if let Some(e) = &s.sync.cache_error {
        out.push_str(&format!("  cache error:     {e}\n"));
    }
    if let Some(m) = &s.sync.manifest {
        out.push_str(&render_manifest(m));
    }
    let c = &s.counts;
    out.push_str(&format!(
        "  policy:          {} roles, {} users, {} locks, {} devices, {} warnings\n",
        c.roles, c.users, c.locks, c.devices, c.warnings
    ));
    out.push_str(&render_vanished(s));
    out.push_str(&decisions_line(s));
    if let Some(a) = &s.approval {
        out.push_str(&format!("  approval page:   {a}\n"));
    }
    out.push_str(&format!("  uptime:          {}s\n", s.uptime_seconds));
    out
}

/// The decision counters, or that only root sees them.
fn decisions_line(s: &StatusReport) -> String {
    let d = &s.decisions;
    if s.decisions_hidden {
        return "  decisions:       shown to root only (they count everyone's logins)\n".to_owned();
    }
    format!(
        "  decisions:       {} allowed, {} denied, {} unavailable, {} errors\n",
        d.allowed, d.denied, d.unavailable, d.errors
    )
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
