//! Live login sessions: registered by the module's `open_session`, ended by
//! `close_session`, and ended by the agent as Teleport's session monitor
//! ends them: on a matching lock (or a stale lock view under strict
//! locking), at their certificate's end under `disconnect_expired_cert`
//! (see `assess`; looked at the instant it comes, see `schedule`), and past their roles' `client_idle_timeout` without
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
mod schedule;
mod session;
mod terminal;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use assess::{decision, end_reason, select};
pub use ending::{end_sessions, session_event};
pub use persist::sessions_file;
pub use procs::{identify, is_alive, ProcId};
pub use registry::{SessionRegistry, MAX_SESSIONS};
pub use session::Session;

use pam_mfa_protocol::SessionInfo;

use crate::state::AgentState;

/// Called after every policy install and every change of the lock view:
/// ends the live sessions a lock holds or whose certificate ended (see
/// `assess`), and has the enforcer heed the deadlines the change brought.
/// Returns at once; the SIGKILL after the grace runs on a thread of its
/// own.
pub fn enforce(state: &AgentState) {
    check(state);
    state.sessions.bell.ring();
}

/// [`enforce`], as the enforcer runs it (at the interval or a deadline).
fn check(state: &AgentState) {
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

/// How often the enforcer looks at `stop` while it waits: SIGTERM sets it
/// from a signal handler, which cannot ring the bell.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Runs [`check`] every `sessions.check_interval` (the idle timeouts, and
/// anything else time brings) and at the earliest deadline of the live
/// sessions (see `schedule`): a certificate's end under
/// `disconnect_expired_cert` and a strict session's lock view going
/// stale are acted on when they come, as Teleport's monitor does, not at
/// the next interval. A session opened or a policy loaded meanwhile rings
/// the bell, and its deadline counts from then. Every wait is bounded;
/// a deadline already past does not make it spin.
pub fn spawn_enforcer(
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("sessions".into())
        .spawn(move || {
            let bell = &state.sessions.bell;
            let mut heard = bell.rings();
            // A first look at once: sessions taken over from a previous
            // agent may be past their end.
            let mut due = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now >= due {
                    check(&state);
                    due = Instant::now() + next_wake(&state);
                    continue;
                }
                let rings = bell.wait(heard, (due - now).min(STOP_POLL));
                if rings != heard {
                    heard = rings;
                    if let Some(d) = earliest_deadline(&state) {
                        due = due.min(Instant::now() + d);
                    }
                }
            }
        })
        .expect("spawning the sessions thread")
}

/// How long the enforcer sleeps after a check: the interval, or less to
/// the earliest deadline still ahead (`schedule::after_check`).
fn next_wake(state: &AgentState) -> Duration {
    let interval = state.config.sessions.check_interval;
    schedule::after_check(interval, earliest_deadline(state))
}

/// The earliest deadline of the live sessions by the agent's clock
/// (`schedule::earliest_deadline`).
fn earliest_deadline(state: &AgentState) -> Option<Duration> {
    prune(state);
    let sessions = state.sessions.list();
    if sessions.is_empty() {
        return None;
    }
    schedule::earliest_deadline(&sessions, state.now(), state.lock_view_stale_in())
}

#[cfg(test)]
#[path = "enforce_tests.rs"]
mod enforce_tests;
