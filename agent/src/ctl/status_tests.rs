//! How `mfactl status` reads for people.

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
    s.node_id_source = "agent.yaml sets none, and there is no /var/lib/teleport/host_uuid".into();
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

/// A first pull at start, with no policy yet: both are said.
#[test]
fn a_pull_in_progress_is_shown_with_when_it_began() {
    let mut s = StatusReport {
        policy_source: "https://policy.example/b.yaml".into(),
        ..StatusReport::default()
    };
    assert!(!render_status(&s).contains("pulling:"));
    s.sync.pull_started = Some("2026-12-06T10:00:00Z".into());
    s.sync.pull_seconds = Some(3);
    let text = render_status(&s);
    assert!(
        text.contains(
            "  pulling:         since 2026-12-06T10:00:00Z (3s ago) (cluster.timeout ends it)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("policy revision: (none loaded: logins follow fail_mode)"),
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
