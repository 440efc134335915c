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
mod tests {
    use super::*;
    use pam_mfa_protocol::ManifestStatus;

    #[test]
    fn a_manifest_source_shows_its_serial_expiry_and_last_refusal() {
        let mut s = StatusReport::default();
        assert!(!render_status(&s).contains("manifest:"), "bundle mode");
        s.sync.manifest = Some(ManifestStatus {
            source_name: "prod".into(),
            serial: Some(42),
            issued_at: Some("2026-12-05T06:00:00Z".into()),
            expires_at: Some("2026-12-06T06:00:00Z".into()),
            expired: true,
            last_refusal_kind: Some("rollback".into()),
            last_refusal: Some("serial 41 is lower than the last known good serial 42".into()),
            last_refusal_at: Some("2026-12-05T06:01:00Z".into()),
            ..ManifestStatus::default()
        });
        let text = render_status(&s);
        assert!(
            text.contains("manifest:        source prod, serial 42, issued 2026-12-05T06:00:00Z, expires 2026-12-06T06:00:00Z (EXPIRED: policy stale)"),
            "{text}"
        );
        assert!(
            text.contains("last refusal:    rollback at 2026-12-05T06:01:00Z: serial 41 is lower"),
            "{text}"
        );
    }

    #[test]
    fn decision_counts_hidden_from_a_non_root_peer_are_not_shown_as_zero() {
        let mut s = StatusReport::default();
        s.decisions.allowed = 3;
        assert!(render_status(&s).contains("decisions:       3 allowed, 0 denied"));
        s.decisions_hidden = true;
        let text = render_status(&s);
        assert!(
            text.contains("decisions:       shown to root only"),
            "{text}"
        );
        assert!(!text.contains("allowed"), "{text}");
    }

    #[test]
    fn the_node_id_is_shown_with_its_source_and_its_absence_warned_of_while_it_matters() {
        let mut s = StatusReport {
            node: "prod3".into(),
            node_id: Some("5e1c2f7a-0000-4000-8000-000000000001".into()),
            node_id_source: "from Teleport's /var/lib/teleport/host_uuid".into(),
            ..StatusReport::default()
        };
        s.counts.node_locks_elsewhere = 2;
        let text = render_status(&s);
        assert!(
            text.contains("  node id:         5e1c2f7a-0000-4000-8000-000000000001 (from Teleport's /var/lib/teleport/host_uuid)\n"),
            "{text}"
        );
        assert!(!text.contains("WARNING"), "{text}");
        s.node_id = None;
        s.node_id_source =
            "agent.yaml sets none, and there is no /var/lib/teleport/host_uuid".into();
        let text = render_status(&s);
        assert!(
            text.contains("  node id:         none (agent.yaml sets none, and there is no /var/lib/teleport/host_uuid)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "WARNING:         2 server_id/node lock(s) in force name another node than prod3"
            ) && text.contains("set node.id")
                && text.contains("or node.teleport_data_dir"),
            "{text}"
        );
        s.counts.node_locks_elsewhere = 0;
        assert!(!render_status(&s).contains("WARNING"));
    }

    #[test]
    fn the_staleness_line_names_both_views_and_their_limits() {
        let mut s = StatusReport {
            policy_revision: "abc".into(),
            ..StatusReport::default()
        };
        s.sync.max_staleness_seconds = 86_400;
        s.sync.lock_view_max_age_seconds = 6;
        s.sync.locking_mode = "strict".into();
        s.sync.lock_view_stale = true;
        let text = render_status(&s);
        assert!(
            text.contains("  staleness:       policy fresh (max 86400s), lock view STALE (max 6s, locking_mode strict)\n"),
            "{text}"
        );
        s.sync.max_staleness_seconds = 0;
        s.sync.policy_stale = true;
        s.sync.locking_mode.clear();
        let text = render_status(&s);
        assert!(
            text.contains("policy STALE (max never), lock view STALE (max 6s, locking_mode -)"),
            "{text}"
        );
    }

    #[test]
    fn a_file_source_from_its_copy_says_its_files_are_refused() {
        let mut s = StatusReport {
            policy_source: "file:///etc/pam-mfa/policy.d".into(),
            policy_revision: "abc".into(),
            last_error: Some("/etc/pam-mfa/policy.d/b.yaml:1:2: bad".into()),
            ..StatusReport::default()
        };
        assert!(!render_status(&s).contains("from cache:"));
        s.sync.from_cache = true;
        let text = render_status(&s);
        assert!(
            text.contains("  from cache:      yes (the last known good copy: the source's files are refused, see last error)\n"),
            "{text}"
        );
        assert!(!text.contains("at restart:"), "{text}");
    }

    #[test]
    fn a_policy_gone_from_disk_is_said_to_end_at_restart() {
        let mut s = StatusReport {
            policy_revision: "abc".into(),
            last_error: Some("file:///etc/pam-mfa/policy.d: no bundle file".into()),
            ..StatusReport::default()
        };
        assert!(!render_status(&s).contains("at restart:"), "{s:?}");
        s.sync.lost_at_restart = true;
        let text = render_status(&s);
        assert!(
            text.contains("  at restart:      NO POLICY: the policy in force is no longer on disk"),
            "{text}"
        );
    }

    #[test]
    fn vanished_users_are_counted_and_the_listed_ones_named() {
        let mut s = StatusReport::default();
        assert!(!render_status(&s).contains("vanished"), "none: no line");
        s.counts.vanished_users = 3;
        s.vanished_users = vec![pam_mfa_protocol::VanishedUserInfo {
            name: "alice@example.com".into(),
            logins: vec!["alice@example.com".into(), "alice".into()],
            since: "2026-12-01T00:00:00Z".into(),
            until: "2026-12-31T00:00:00Z".into(),
        }];
        let text = render_status(&s);
        assert!(
            text.contains("  vanished users:  3 (no longer in the policy"),
            "{text}"
        );
        assert!(
            text.contains("alice@example.com (logins alice@example.com, alice): gone since 2026-12-01T00:00:00Z, remembered until 2026-12-31T00:00:00Z"),
            "{text}"
        );
        assert!(text.contains("... and 2 more"), "{text}");
        // A non-root peer gets the count only.
        s.vanished_users.clear();
        let text = render_status(&s);
        assert!(
            text.contains("vanished users:  3") && !text.contains("alice"),
            "{text}"
        );
    }

    #[test]
    fn without_a_policy_nothing_is_called_fresh() {
        let mut s = StatusReport::default();
        s.sync.max_staleness_seconds = 86_400;
        let text = render_status(&s);
        assert!(
            text.contains("  staleness:       - (no policy loaded") && !text.contains("fresh"),
            "{text}"
        );
    }
}
