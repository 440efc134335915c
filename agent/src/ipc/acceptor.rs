//! The accept loop: one thread that always accepts and hands each
//! connection to a worker ([`super::pool`]), which counts it against the
//! invoking person's budget and answers a refusal at once when it is spent.
//! The loop never reads from a connection, never waits on one and never
//! reads /proc, so the listen backlog cannot stay full: a local user
//! holding connections or logins open only spends their own budget (see
//! [`super::budgets`]).

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{write_frame, Response, ResponseBody};

use super::budgets::Budgets;
use super::pool::{Job, Pool};
use crate::state::AgentState;

/// How long a refusal may take to write (it fits an empty socket buffer).
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_millis(20);

/// Serves until `stop` is set. To stop, this thread's caller-side watcher
/// shuts the listener down, which makes the blocked accept return.
pub fn run(
    listener: UnixListener,
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let pool = Pool::new(Arc::clone(&state), Budgets::new(state.keys_uid));
    let listener = Arc::new(listener);
    let watcher = {
        let listener = Arc::clone(&listener);
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("stop-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = rustix::net::shutdown(&*listener, rustix::net::Shutdown::Both);
            })?
    };
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => admit(stream, &state, &pool),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if stop.load(Ordering::Relaxed) => break,
            Err(e) => {
                // EMFILE and friends: wait a little instead of spinning.
                eprintln!("mfa-agent: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    let _ = watcher.join();
    Ok(())
}

/// Hands `stream` to a worker (which counts it against its person), or
/// refuses it when no thread can serve it.
fn admit(stream: UnixStream, state: &AgentState, pool: &Pool) {
    let Ok(cred) = rustix::net::sockopt::socket_peercred(&stream) else {
        return; // closed: no credentials, nothing to decide on
    };
    let job = Job {
        stream,
        uid: cred.uid.as_raw(),
        pid: cred.pid.as_raw_nonzero().get(),
    };
    if let Err((job, why)) = pool.dispatch(job) {
        refuse(job.stream, state, &why);
    }
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
