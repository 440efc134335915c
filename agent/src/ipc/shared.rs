//! What the accepting threads share, and the refusal any of them may give
//! a connection it cannot serve.

use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{write_frame, Response, ResponseBody};

use super::budgets::Budgets;
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
}

/// Answers `error` with `why` without waiting, and closes the connection.
/// Logged at most once a second (a flood must not flood the journal), with
/// the number of refusals since the last line.
pub(super) fn refuse(stream: UnixStream, state: &AgentState, why: &str) {
    static SINCE_LAST_LINE: AtomicU64 = AtomicU64::new(0);
    static LAST_LINE: Mutex<Option<Instant>> = Mutex::new(None);
    state.counters.count("error");
    let n = SINCE_LAST_LINE.fetch_add(1, Ordering::Relaxed) + 1;
    {
        let mut last = LAST_LINE.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            SINCE_LAST_LINE.store(0, Ordering::Relaxed);
            eprintln!(
                "mfa-agent: refused a connection: {why} ({n} refused since the last such line)"
            );
        }
    }
    let _ = stream.set_write_timeout(Some(REFUSAL_WRITE_TIMEOUT));
    let mut stream = stream;
    let _ = write_frame(
        &mut stream,
        &Response::new(ResponseBody::Error {
            message: format!("refused: {why}"),
        }),
    );
}
