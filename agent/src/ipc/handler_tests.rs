//! The handler: what status shows whom, and keys under a stale lock view.

use std::sync::Arc;

use super::*;
use crate::audit::AuditSink;
use crate::config::AgentConfig;

/// The status report `uid` is given.
fn status_as(state: &AgentState, uid: u32) -> pam_mfa_protocol::StatusReport {
    let peer = Peer {
        pid: 1,
        uid,
        name: None,
        real_uid: None,
    };
    match handle(state, &peer, &mut None, RequestBody::Status, Ok(())) {
        ResponseBody::Status(r) => r,
        other => panic!("{other:?}"),
    }
}

fn state_with(config: &str) -> AgentState {
    let cfg = AgentConfig::parse(config, "t").unwrap();
    AgentState::new(cfg, AuditSink::Stderr, Arc::new(std::time::SystemTime::now)).unwrap()
}

#[test]
fn status_hides_the_source_query_from_non_root_peers_only() {
    let state =
        state_with("node: {name: n}\ncluster:\n  source: https://h.example/b.yaml?token=s3cr3t\n");
    assert_eq!(
        status_as(&state, 1000).policy_source,
        "https://h.example/b.yaml?<redacted>"
    );
    assert!(status_as(&state, 0).policy_source.contains("token=s3cr3t"));
}

/// The decision counters are everyone's: a local user polling them
/// would learn when others log in. Root sees them; others do not.
#[test]
fn status_shows_decision_counts_to_root_only() {
    let state = state_with("node: {name: n}\n");
    // Someone's login was denied.
    state.counters.count("deny");
    let mine = status_as(&state, 1000);
    assert!(mine.decisions_hidden);
    assert_eq!(mine.decisions, Default::default());
    let root = status_as(&state, 0);
    assert!(!root.decisions_hidden);
    assert_eq!(root.decisions.denied, 1, "{:?}", root.decisions);
}

/// sshd's AuthorizedKeysCommand under a stale lock view: a strict role
/// that jerry does not hold leaves his key served (the locking mode is
/// each person's); the same role held by him takes it away.
#[test]
fn a_stale_lock_view_keeps_the_keys_of_persons_who_are_not_strict() {
    let blob = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
    let bundle = |lock: &str| {
        format!(
            "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: [root]\n    node_labels: {{env: prod}}\n  options: {{require_session_mfa: true{lock}}}\n---\n\
             kind: role\nversion: v7\nmetadata: {{name: ops}}\nspec:\n  options: {{lock: strict}}\n---\n\
             kind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec:\n  roles: [prod]\n---\n\
             kind: mfa_device\nversion: v1\nmetadata: {{name: k}}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com {blob} j@laptop\"\n"
        )
    };
    let served = |text: &str| {
        let cfg = AgentConfig::parse(
            "node: {name: prod3, labels: {env: prod}}\nsshd:\n  authorized_keys_files: []\n",
            "t",
        )
        .unwrap();
        let state =
            AgentState::new(cfg, AuditSink::Stderr, Arc::new(std::time::SystemTime::now)).unwrap();
        let b = Arc::new(crate::policy::load_bundle_str(text, "b.yaml").unwrap());
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        state
            .store
            .install_from(b, Default::default(), hour_ago, hour_ago);
        assert!(state.lock_view_stale());
        let peer = Peer {
            pid: 1,
            uid: 0,
            name: None,
            real_uid: None,
        };
        let login = "root".to_owned();
        match handle(
            &state,
            &peer,
            &mut None,
            RequestBody::AuthorizedKeys { login },
            Ok(()),
        ) {
            ResponseBody::Keys { lines } => lines.len(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(served(&bundle("")), 1);
    assert_eq!(served(&bundle(", lock: strict")), 0);
}
