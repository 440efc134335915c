//! The start without network, and requests that meet a pull in progress.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::state::{initial_load, load_at_start, sync_now_within, AgentState, ReloadOutcome};

/// An HTTPS source on a loopback port nobody listens on, with an empty
/// state directory (no cached copy).
fn https_state(dir: &std::path::Path) -> AgentState {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "node: {{name: n1}}\ncluster:\n  source: https://127.0.0.1:{port}/bundle.yaml\n  state_dir: {}\n",
        dir.display()
    );
    let cfg = AgentConfig::parse(&text, "agent.yaml").unwrap();
    AgentState::new(cfg, AuditSink::Stderr, Arc::new(SystemTime::now)).unwrap()
}

fn temp_dir(label: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pam-mfa-pull-turn-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The daemon's start reads only the cache: with none, no request is
/// made (the reloader pulls once the sockets are bound), and nothing is
/// recorded as tried. `--check` still pulls.
#[test]
fn a_start_without_a_cached_copy_makes_no_request_and_check_still_pulls() {
    let dir = temp_dir("start");
    let state = https_state(&dir);
    assert_eq!(load_at_start(&state), None);
    let snap = state.store.snapshot();
    assert!(snap.current.is_none());
    assert_eq!(snap.last_attempt, None);
    assert_eq!(snap.last_error, None);
    match initial_load(&state) {
        ReloadOutcome::Rejected { error } => assert!(error.contains("127.0.0.1"), "{error}"),
        other => panic!("{other:?}"),
    }
    assert!(state.store.snapshot().last_attempt.is_some());
    assert_eq!(state.store.snapshot().pull_started, None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A request that finds a pull in progress past its wait answers that one
/// is, and since when, instead of waiting for it (and pulling again).
#[test]
fn a_sync_during_a_pull_in_progress_says_so_at_once() {
    let dir = temp_dir("busy");
    let state = https_state(&dir);
    let began = SystemTime::now() - Duration::from_secs(7);
    let book = state.sync_book.lock().unwrap();
    state.store.begin_pull(began);
    let busy = sync_now_within(&state, Duration::from_millis(50)).unwrap_err();
    let text = busy.message("not pulled again");
    assert!(text.starts_with("a pull of https://127.0.0.1:"), "{text}");
    assert!(text.contains("in progress (since "), "{text}");
    assert!(
        text.contains(", 7s ago; cluster.timeout ends it within 30s): not pulled again"),
        "{text}"
    );
    // Nothing was tried by the request.
    assert_eq!(state.store.snapshot().last_attempt, None);
    // Once free, the request pulls; the pull's mark is gone after it.
    state.store.end_pull();
    drop(book);
    let r = sync_now_within(&state, Duration::from_millis(50)).unwrap();
    assert!(!r.report.ok, "{:?}", r.report);
    assert_eq!(state.store.snapshot().pull_started, None);
    // Held by something that is not a pull (forget-user, an install).
    let _book = state.sync_book.lock().unwrap();
    let text = sync_now_within(&state, Duration::ZERO)
        .unwrap_err()
        .message("not pulled again");
    assert!(text.starts_with("the policy is being changed"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
