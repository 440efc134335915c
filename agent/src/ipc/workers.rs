//! Who serves a connection: worker threads that accept on the listener
//! themselves (no hand-off, so no extra thread wake-up on the hot path).
//! One worker is always left waiting in accept: when the last idle worker
//! takes a connection, it first starts another, so a slow or silent client
//! never makes the next one wait, up to [`MAX_CONNECTIONS`] at once.
//! Workers beyond the persistent ones end once they are not needed.

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::server::serve_connection;
use crate::state::AgentState;

/// Workers that stay for the life of the agent.
pub const PERSISTENT_WORKERS: usize = 4;
/// At most this many connections are served at once; more wait in the
/// listen backlog (the module's deadline bounds that wait).
pub const MAX_CONNECTIONS: usize = 256;

struct Pool {
    listener: UnixListener,
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
    idle: AtomicUsize,
    total: AtomicUsize,
}

/// Serves until `stop` is set; returns once every persistent worker ended.
///
/// Workers block in accept(2), where the kernel wakes exactly one of them
/// per connection (a shared poll would wake them all). To stop, this thread
/// shuts the listener down, which makes every blocked accept return.
pub fn run_workers(
    listener: UnixListener,
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let pool = Arc::new(Pool {
        listener,
        state,
        stop,
        idle: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
    });
    let mut handles = Vec::new();
    for i in 0..PERSISTENT_WORKERS {
        pool.total.fetch_add(1, Ordering::SeqCst);
        let p = Arc::clone(&pool);
        handles.push(
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || p.work(true))?,
        );
    }
    while !pool.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = rustix::net::shutdown(&pool.listener, rustix::net::Shutdown::Both);
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}

impl Pool {
    fn work(self: Arc<Self>, persistent: bool) {
        loop {
            self.idle.fetch_add(1, Ordering::SeqCst);
            let stream = self.accept();
            let idle_now = self.idle.fetch_sub(1, Ordering::SeqCst) - 1;
            let Some(stream) = stream else {
                self.total.fetch_sub(1, Ordering::SeqCst);
                return;
            };
            if idle_now == 0 {
                self.grow();
            }
            serve_connection(stream, &self.state);
            if !persistent && self.idle.load(Ordering::SeqCst) > 0 {
                self.total.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
    }

    /// Starts one more worker unless the limit is reached.
    fn grow(self: &Arc<Self>) {
        if self.total.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            self.total.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let p = Arc::clone(self);
        if std::thread::Builder::new()
            .name("worker+".into())
            .spawn(move || p.work(false))
            .is_err()
        {
            self.total.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The next connection, or None once `stop` is set.
    fn accept(&self) -> Option<UnixStream> {
        while !self.stop.load(Ordering::Relaxed) {
            match self.listener.accept() {
                Ok((s, _)) => return Some(s),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.stop.load(Ordering::Relaxed) => break,
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning.
                    eprintln!("mfa-agent: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        None
    }
}
