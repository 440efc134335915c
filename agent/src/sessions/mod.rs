//! Live login sessions: registered by the module's `open_session`, ended by
//! `close_session`, and ended by the agent as Teleport's session monitor
//! ends them: on a matching lock (or a stale lock view under strict
//! locking), at their certificate's end under `disconnect_expired_cert`
//! (see `assess`), and past their roles' `client_idle_timeout` without
//! input or output on their terminal (see `idle`).
//!
//! A session is named by the process that opened it (SO_PEERCRED's pid and
//! its start time from /proc, so a reused pid is never taken for it). For
//! sshd that is the privileged monitor of the connection; the session's
//! processes are it and its descendants. Sessions whose process is gone are
//! pruned whenever the list is read and before every check.

mod assess;
mod ending;
mod idle;
mod logind;
mod persist;
mod persist_nodes;
mod persist_record;
mod procs;
mod registry;
mod session;
mod terminal;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use assess::{decision, end_reason, select};
pub use ending::{end_sessions, session_event};
pub use persist::sessions_file;
pub use procs::{identify, is_alive, ProcId};
pub use registry::{SessionRegistry, MAX_SESSIONS};
pub use session::Session;

use pam_mfa_protocol::SessionInfo;

use crate::state::AgentState;

/// Called after every policy install and every change of the lock view
/// (and every `sessions.check_interval`): ends the live sessions a lock
/// holds or whose certificate ended (see `assess`). Returns at once; the SIGKILL after the
/// grace runs on a thread of its own.
pub fn enforce(state: &AgentState) {
    prune(state);
    let sessions = state.sessions.list();
    // No policy: nothing to judge by. Otherwise live sessions are judged as
    // Teleport's monitor judges them, by the last known locks whatever the
    // policy's own staleness: past max_staleness (or an expired manifest)
    // new logins follow fail_mode, but only the lock view's staleness
    // (`lock_view_max_age`, which an expired manifest makes stale at once)
    // ends a session, and only one whose locking mode is strict
    // (`RoleSet.LockingMode`, each person's): Teleport's monitor gets
    // `OpUnreliable` only once its lock watcher's view is older than
    // `LockMaxStaleness` (lib/services/watcher.go `lockCollector.notifyStale`;
    // lib/srv/monitor.go `Monitor.start` ends the session then under
    // `LockingModeStrict`). A max_staleness shorter than lock_view_max_age
    // must not end a strict person's session sooner; an outage alone never
    // ends a best-effort person's. New logins read the same view for a
    // person's own locking mode (`policy_for_login`, `lock_view_stale`).
    let Some(bundle) = state.store.current() else {
        return;
    };
    let lock_view_stale = state.lock_view_stale();
    let now = state.now();
    let mut ends = select(&bundle, &state.node, &sessions, now, lock_view_stale);
    if sessions
        .iter()
        .any(|s| s.terms.is_some_and(|t| t.idle_timeout.is_some()))
    {
        let table = procs::table();
        let mut seen = state
            .sessions
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let watch = (std::time::Instant::now(), &mut *seen);
        let idle = idle::idle_ends(&sessions, &ends, watch, |s| {
            terminal::last_activity(&table, s.leader)
        });
        drop(seen);
        ends.extend(idle);
    }
    if ends.is_empty() {
        return;
    }
    let marked = state.sessions.mark_ending(&ends);
    end_sessions(state, marked, &state.revision());
}

/// `mfactl sessions`: the live sessions, oldest first.
pub fn live(state: &AgentState) -> Vec<SessionInfo> {
    prune(state);
    state.sessions.list().iter().map(Session::info).collect()
}

/// Drops the sessions whose process is gone, auditing each.
fn prune(state: &AgentState) {
    let revision = state.revision();
    for s in state.sessions.prune() {
        let why = match &s.ending {
            Some(_) => "ended by the agent; its process is gone",
            None => "its process exited without close_session",
        };
        let ev = session_event(state, "session_closed", "ok", &s, &revision, why.into());
        state.audit(&ev);
    }
}

/// Runs [`enforce`] every `sessions.check_interval` until `stop` is set:
/// locks can come into force by time alone (the policy's view of them going
/// stale), not only with a new bundle.
pub fn spawn_enforcer(
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("sessions".into())
        .spawn(move || {
            let interval = state.config.sessions.check_interval;
            let tick = Duration::from_millis(100).min(interval);
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited >= interval {
                    waited = Duration::ZERO;
                    enforce(&state);
                }
            }
        })
        .expect("spawning the sessions thread")
}

#[cfg(test)]
#[path = "enforce_tests.rs"]
mod enforce_tests;
