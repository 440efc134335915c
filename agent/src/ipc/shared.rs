//! What the accepting threads share, and the refusal any of them may give
//! a connection it cannot serve.

use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use pam_mfa_protocol::{write_frame, Response, ResponseBody};

use super::budgets::Budgets;
use crate::audit::Throttled;
use crate::state::AgentState;

/// How long a refusal may take to write (it fits an empty socket buffer).
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_millis(20);

/// What every accepting thread shares.
pub(super) struct Shared {
    pub(super) listener: UnixListener,
    pub(super) state: Arc<AgentState>,
    pub(super) budgets: Arc<Budgets>,
    pub(super) stop: Arc<AtomicBool>,
    /// Threads in (or on their way into) `accept`.
    pub(super) accepting: AtomicUsize,
    /// A thread watches the listener awake (`super::acceptor`).
    pub(super) watching: AtomicBool,
}

/// Answers `error` with `why` without waiting, and closes the connection.
/// Logged at most once a second (a flood must not flood the journal), with
/// the number of refusals since the last line.
pub(super) fn refuse(stream: UnixStream, state: &AgentState, why: &str) {
    static REFUSED: Throttled = Throttled::new();
    state.counters.count("error");
    REFUSED.write(|| format!("refused a connection: {why}"));
    let _ = stream.set_write_timeout(Some(REFUSAL_WRITE_TIMEOUT));
    let mut stream = stream;
    let _ = write_frame(
        &mut stream,
        &Response::new(ResponseBody::Error {
            message: format!("refused: {why}"),
        }),
    );
}
