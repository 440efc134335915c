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
    let now = Arc::new(Mutex::new(t0));
    let n = Arc::clone(&now);
    let state = agent_on("", t0, Arc::new(move || *n.lock().unwrap()));
    (state, now)
}

/// [`agent`] on `clock`, with `sessions` (YAML lines) added to its
/// sessions section.
fn agent_on(sessions: &str, t0: SystemTime, clock: crate::state::Clock) -> AgentState {
    let cfg = AgentConfig::parse(
        &format!("node:\n  name: prod3\ncluster:\n  source: builtin:example\n  poll_interval: 30s\n  max_staleness: 2m\nsessions:\n  end_grace: 1s\n{sessions}"),
        "t",
    )
    .unwrap();
    assert_eq!(cfg.cluster.lock_view_max_age(), Duration::from_secs(300));
    let state = AgentState::new(cfg, AuditSink::Stderr, clock).unwrap();
    let bundle = load_bundle_str(POLICY, "b.yaml").unwrap();
    state
        .store
        .install_from(Arc::new(bundle), Provenance::default(), t0, t0);
    state
}

/// A process standing for sshd's monitor (SIGHUP ends it), and jerry's
/// session on it, its locking mode fixed at the start.
fn open(state: &AgentState, strict: bool) -> Child {
    open_until(state, strict, None)
}

/// [`open`], its certificate ending it at `ends_at`.
fn open_until(state: &AgentState, strict: bool, ends_at: Option<SystemTime>) -> Child {
    let child = Command::new("env")
        .args(["--default-signal=HUP", "sleep", "60"])
        .spawn()
        .unwrap();
    let mut s = registry::tests::session(0, 0, "jerry");
    s.leader = identify(child.id() as i32).unwrap();
    s.terms = Some(SessionTerms {
        strict,
        ends_at,
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

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// With `sessions.check_interval` 10 s (the default), the enforcer's next
/// look is at the earliest certificate end of the live sessions, or at
/// the instant the lock view goes stale when a session is strict, not at
/// the next interval (Teleport's monitor arms a timer for both).
#[test]
fn the_enforcer_wakes_at_the_earliest_deadline_not_the_next_interval() {
    let t0 = SystemTime::UNIX_EPOCH + secs(1_800_000_000);
    let (state, now) = agent(t0);
    assert_eq!(state.config.sessions.check_interval, secs(10));
    assert_eq!(next_wake(&state), secs(10), "no session");
    let later = open_until(&state, false, Some(t0 + secs(7)));
    let sooner = open_until(&state, false, Some(t0 + secs(3)));
    assert_eq!(next_wake(&state), secs(3));
    *now.lock().unwrap() = t0 + secs(2);
    assert_eq!(next_wake(&state), secs(1));
    // Woken at 3 s: the check ends the session, whose deadline then no
    // longer counts (no spin on it); the other's is next.
    *now.lock().unwrap() = t0 + secs(3);
    check(&state);
    assert!(hung_up(sooner), "ended at its certificate's end");
    assert_eq!(next_wake(&state), secs(4));
    *now.lock().unwrap() = t0 + secs(20);
    kill(later);

    // A strict session: its lock view goes stale 300 s after the contact
    // at t0 (the wall clock's age; the monotonic one's is behind).
    let (state, now) = agent(t0);
    *now.lock().unwrap() = t0 + secs(295);
    let best_effort = open(&state, false);
    assert_eq!(next_wake(&state), secs(10), "best effort: no deadline");
    let strict = open(&state, true);
    let d = next_wake(&state);
    assert!(
        d > secs(5) && d < secs(5) + Duration::from_millis(10),
        "{d:?}"
    );
    for child in [best_effort, strict] {
        kill(child);
    }
}

/// The enforcer thread, with `sessions.check_interval` 1 h on the real
/// clock: a session opened while it sleeps, whose certificate ends 300 ms
/// later, is ended then (the generous bound is `hung_up`'s 10 s), not an
/// hour later.
#[test]
fn a_session_opened_while_the_enforcer_sleeps_ends_at_its_certificates_end() {
    let state = Arc::new(agent_on(
        "  check_interval: 1h\n",
        SystemTime::now(),
        Arc::new(SystemTime::now),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let enforcer = spawn_enforcer(Arc::clone(&state), Arc::clone(&stop));
    // (Past its first check, most likely: the bell is what wakes it.)
    std::thread::sleep(Duration::from_millis(200));
    let child = open_until(
        &state,
        false,
        Some(SystemTime::now() + Duration::from_millis(300)),
    );
    let ended = hung_up(child);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    enforcer.join().unwrap();
    assert!(ended, "not ended at its certificate's end");
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}
