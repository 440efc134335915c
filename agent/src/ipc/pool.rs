//! The threads that serve connections. The accept loop hands a connection
//! to a worker waiting idle (a rendezvous: it succeeds only when one
//! waits), or else starts a thread for it, so a connection never waits for
//! a busy worker. The worker finds the person behind the peer (/proc reads:
//! kept off the accept loop) and counts the connection against that
//! person's budget, refusing it at once when it is spent; a login waiting
//! on its person's answer holds its own thread, and the budgets bound how
//! many there are. Up to [`KEEP_IDLE`] workers stay for the next
//! connections (no thread start on the hot path); the others end once
//! their connection is served.

use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use super::acceptor::refuse;
use super::budgets::{Budgets, ConnectionSlot};
use super::person;
use super::server::serve_connection;
use crate::state::AgentState;

/// Workers kept waiting for the next connection.
pub const KEEP_IDLE: usize = 4;

/// An accepted connection and its peer's SO_PEERCRED uid and pid.
pub struct Job {
    pub stream: UnixStream,
    pub uid: u32,
    pub pid: i32,
}

struct Shared {
    state: Arc<AgentState>,
    budgets: Arc<Budgets>,
    jobs: Mutex<Receiver<Job>>,
    idle: AtomicUsize,
}

pub struct Pool {
    hand_off: SyncSender<Job>,
    shared: Arc<Shared>,
}

impl Pool {
    pub fn new(state: Arc<AgentState>, budgets: Arc<Budgets>) -> Pool {
        let (hand_off, jobs) = sync_channel(0);
        Pool {
            hand_off,
            shared: Arc::new(Shared {
                state,
                budgets,
                jobs: Mutex::new(jobs),
                idle: AtomicUsize::new(0),
            }),
        }
    }

    /// Serves `job` on an idle worker, or on a new thread. `Err` gives the
    /// job back when no thread could be started (the caller refuses it).
    pub fn dispatch(&self, job: Job) -> Result<(), (Job, String)> {
        let job = match self.hand_off.try_send(job) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => job,
        };
        let shared = Arc::clone(&self.shared);
        let (tx, rx) = sync_channel::<Job>(1);
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || work(&shared, rx.recv().ok()));
        match spawned {
            Ok(_) => {
                let _ = tx.send(job);
                Ok(())
            }
            Err(e) => Err((job, format!("the agent cannot start a thread: {e}"))),
        }
    }
}

/// Serves `first`, then waits idle for more while fewer than [`KEEP_IDLE`]
/// others do. Ends when the pool is dropped (the agent stops).
fn work(shared: &Shared, first: Option<Job>) {
    if let Some(job) = first {
        serve_guarded(shared, job);
    }
    loop {
        if shared.idle.fetch_add(1, Ordering::SeqCst) >= KEEP_IDLE {
            shared.idle.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let next = {
            let jobs = shared.jobs.lock().unwrap_or_else(|p| p.into_inner());
            jobs.recv()
        };
        shared.idle.fetch_sub(1, Ordering::SeqCst);
        match next {
            Ok(job) => serve_guarded(shared, job),
            Err(_) => return,
        }
    }
}

/// Counts the connection against the person behind its peer and serves it,
/// or refuses it when that person's budget is spent. Survives a panic in
/// the handler (the connection closes: the module fails closed).
fn serve_guarded(shared: &Shared, job: Job) {
    let Job { stream, uid, pid } = job;
    let person = person::at_accept(uid, pid);
    let slot: ConnectionSlot = match shared.budgets.connection(&person) {
        Ok(slot) => slot,
        Err(why) => return refuse(stream, &shared.state, &why),
    };
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        serve_connection(stream, &shared.state, &shared.budgets, &person)
    }));
    drop(slot);
    if served.is_err() {
        shared.state.counters.count("error");
        eprintln!("mfa-agent: a connection handler panicked; that connection was closed");
    }
}
