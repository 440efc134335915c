//! `enforce` on the agent's state with an injected clock: which staleness
//! ends a live session.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::policy::{load_bundle_str, SessionTerms};
use crate::state::{Provenance, Unusable};

const POLICY: &str = "kind: role\nversion: v7\nmetadata: {name: access}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}\n---\n\
     kind: user\nversion: v2\nmetadata: {name: jerry}\nspec: {roles: [access]}\n";

/// An agent polling every 30 s whose policy goes stale after 2 minutes,
/// with the default lock_view_max_age (5 minutes, Teleport's
/// LockMaxStaleness); the policy installed, confirmed by the source at
/// `t0`, and the injected clock to move.
fn agent(t0: SystemTime) -> (AgentState, Arc<Mutex<SystemTime>>) {
    let cfg = AgentConfig::parse(
        "node:\n  name: prod3\ncluster:\n  source: builtin:example\n  poll_interval: 30s\n  max_staleness: 2m\nsessions:\n  end_grace: 1s\n",
        "t",
    )
    .unwrap();
    assert_eq!(cfg.cluster.lock_view_max_age(), Duration::from_secs(300));
    let now = Arc::new(Mutex::new(t0));
    let n = Arc::clone(&now);
    let state =
        AgentState::new(cfg, AuditSink::Stderr, Arc::new(move || *n.lock().unwrap())).unwrap();
    let bundle = load_bundle_str(POLICY, "b.yaml").unwrap();
    state
        .store
        .install_from(Arc::new(bundle), Provenance::default(), t0, t0);
    (state, now)
}

/// A process standing for sshd's monitor (SIGHUP ends it), and jerry's
/// session on it, its locking mode fixed at the start.
fn open(state: &AgentState, strict: bool) -> Child {
    let child = Command::new("env")
        .args(["--default-signal=HUP", "sleep", "60"])
        .spawn()
        .unwrap();
    let mut s = registry::tests::session(0, 0, "jerry");
    s.leader = identify(child.id() as i32).unwrap();
    s.terms = Some(SessionTerms {
        strict,
        ends_at: None,
        idle_timeout: None,
    });
    state.sessions.open(s).unwrap();
    child
}

/// Why each session is ending, if it is.
fn ending(state: &AgentState) -> Vec<Option<String>> {
    state
        .sessions
        .list()
        .into_iter()
        .map(|s| s.ending)
        .collect()
}

/// Whether the leader was hung up on (enforce sends SIGHUP before it
/// returns); killed if it was not.
fn hung_up(mut child: Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.signal() == Some(1);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    false
}

/// Past max_staleness (2m) but within lock_view_max_age (5m), a strict
/// person's session goes on: Teleport's monitor ends it only on
/// `OpUnreliable`, once its lock view is older than LockMaxStaleness. Past
/// lock_view_max_age it ends; a best-effort person's never does.
#[test]
fn a_stale_policy_ends_a_strict_session_only_once_the_lock_view_is_stale() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for strict in [true, false] {
        let (state, now) = agent(t0);
        let mut child = open(&state, strict);
        *now.lock().unwrap() = t0 + Duration::from_secs(180);
        // New logins: the policy is stale (fail_mode decides); the lock
        // view is not.
        assert!(matches!(
            state.policy_for_login(),
            Err(Unusable::Stale { .. })
        ));
        assert!(!state.lock_view_stale());
        enforce(&state);
        assert_eq!(ending(&state), [None], "strict {strict}: within 5m");
        assert_eq!(child.try_wait().unwrap(), None, "strict {strict}");
        *now.lock().unwrap() = t0 + Duration::from_secs(301);
        assert!(state.lock_view_stale());
        enforce(&state);
        if strict {
            assert!(hung_up(child), "strict: ended past 5m");
        } else {
            assert_eq!(ending(&state), [None], "best effort: never for an outage");
            assert_eq!(child.try_wait().unwrap(), None, "best effort");
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}
