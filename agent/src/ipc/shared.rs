//! What the accepting threads share, and the refusal any of them may give
//! a connection it cannot serve.

use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pam_mfa_protocol::{write_frame, Response, ResponseBody};

use super::budgets::Budgets;
use super::thread_bound::ThreadBound;
use crate::audit::Throttled;
use crate::state::AgentState;

/// How long a refusal may take to write (it fits an empty socket buffer).
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_millis(20);

/// What every accepting thread shares, whichever listener it accepts on:
/// the budgets, the state and the bound on threads are one for both.
pub(super) struct Shared {
    pub(super) state: Arc<AgentState>,
    pub(super) budgets: Arc<Budgets>,
    pub(super) stop: Arc<AtomicBool>,
    /// The accepting and serving threads started, and how many may run.
    pub(super) threads: Arc<ThreadBound>,
}

/// One listener and the threads that accept on it.
pub(super) struct Listening {
    pub(super) listener: UnixListener,
    /// The socket only root may connect to: a peer of any other uid is
    /// refused at once (its mode says so already; this holds even if it
    /// did not).
    pub(super) root_only: bool,
    /// Threads in (or on their way into) `accept` on this listener.
    pub(super) accepting: AtomicUsize,
    /// A thread watches this listener awake (`super::acceptor`).
    pub(super) watching: AtomicBool,
    pub(super) shared: Arc<Shared>,
}

/// Why a connection is refused, as far as the log is concerned: each kind
/// has a log line a second of its own, so a rare one (no thread could be
/// started) is never hidden by a frequent one (a person's connections).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A person's (or persons' together, or all) connections are taken.
    Budget,
    /// No thread could be started, or the bound on threads is reached.
    NoThread,
    /// The peer's process is gone, or cannot be seen from here, or it is
    /// not root on the socket only root may connect to.
    Peer,
    /// Its first request is refused (`super::admission`).
    FirstRequest,
}

impl Refusal {
    const KINDS: usize = 4;

    fn index(self) -> usize {
        match self {
            Refusal::Budget => 0,
            Refusal::NoThread => 1,
            Refusal::Peer => 2,
            Refusal::FirstRequest => 3,
        }
    }
}

/// One log line a second per kind of refusal.
pub(super) struct RefusalLog([Throttled; Refusal::KINDS]);

impl RefusalLog {
    pub(super) const fn new() -> Self {
        RefusalLog([const { Throttled::new() }; Refusal::KINDS])
    }

    /// Writes `why` unless a line of this `kind` was written less than a
    /// second before `now`; true when written.
    fn write_at(&self, now: Instant, kind: Refusal, why: &str) -> bool {
        self.0[kind.index()].write_at(now, || format!("refused a connection: {why}"))
    }
}

/// Answers `error` with `why` without waiting, and closes the connection.
/// Logged at most once a second per kind of refusal (a flood must not
/// flood the journal), with the number of refusals since the last line.
pub(super) fn refuse(stream: UnixStream, state: &AgentState, kind: Refusal, why: &str) {
    static REFUSED: RefusalLog = RefusalLog::new();
    state.counters.count("error");
    REFUSED.write_at(Instant::now(), kind, why);
    let _ = stream.set_write_timeout(Some(REFUSAL_WRITE_TIMEOUT));
    let mut stream = stream;
    let _ = write_frame(
        &mut stream,
        &Response::new(ResponseBody::Error {
            message: format!("refused: {why}"),
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frequent_refusal_does_not_hide_a_rare_one() {
        let log = RefusalLog::new();
        let start = Instant::now();
        assert!(log.write_at(start, Refusal::Budget, "too many connections for uid 1001"));
        for i in 1..100 {
            let at = start + Duration::from_micros(i);
            assert!(!log.write_at(at, Refusal::Budget, "too many connections for uid 1001"));
        }
        let later = start + Duration::from_millis(1);
        assert!(
            log.write_at(later, Refusal::NoThread, "the agent cannot start a thread"),
            "hidden by the other kind's line"
        );
        assert!(log.write_at(later, Refusal::Peer, "the process that connected is gone"));
        assert!(!log.write_at(later, Refusal::NoThread, "the agent cannot start a thread"));
    }
}
