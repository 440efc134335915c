//! Who serves a connection: worker threads that accept on the listener
//! themselves (no hand-off, so no extra thread wake-up on the hot path).
//! One worker is always left waiting in accept: when the last idle worker
//! takes a connection, it first starts another, so a slow or silent client
//! never makes the next one wait, up to [`MAX_CONNECTIONS`] at once.
//! Workers beyond the persistent ones end once they are not needed.

use std::collections::HashMap;
use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::server::serve_connection;
use crate::state::AgentState;

/// Workers that stay for the life of the agent.
pub const PERSISTENT_WORKERS: usize = 4;
/// At most this many connections are served at once; more wait in the
/// listen backlog (the module's deadline bounds that wait).
pub const MAX_CONNECTIONS: usize = 256;
/// Connections one non-root user may hold at once.
pub const PER_USER_CONNECTIONS: usize = 8;
/// Connections only root (sshd, sudo, login) may use.
pub const ROOT_RESERVE: usize = 64;

struct Pool {
    listener: UnixListener,
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
    idle: AtomicUsize,
    total: AtomicUsize,
    /// Open connections per non-root uid.
    users: Mutex<HashMap<u32, usize>>,
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
        users: Mutex::new(HashMap::new()),
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
            self.serve_admitted(stream);
            if !persistent && self.idle.load(Ordering::SeqCst) > 0 {
                self.total.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
    }

    /// Serves a connection within the per-user limits, and survives a panic
    /// in its handler (the connection closes: the module fails closed).
    fn serve_admitted(&self, stream: UnixStream) {
        let Ok(uid) = rustix::net::sockopt::socket_peercred(&stream).map(|c| c.uid.as_raw()) else {
            return;
        };
        if uid != 0 && !self.admit(uid) {
            self.state.counters.count("error");
            return; // closed: that user already holds its share
        }
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve_connection(stream, &self.state)
        }));
        if uid != 0 {
            self.release(uid);
        }
        if served.is_err() {
            self.state.counters.count("error");
            eprintln!("mfa-agent: a connection handler panicked; that connection was closed");
        }
    }

    /// Non-root peers (screen lockers, mfactl, the keys user) get at most
    /// [`PER_USER_CONNECTIONS`] each and [`MAX_CONNECTIONS`] - [`ROOT_RESERVE`]
    /// together, so no local user can crowd out root's PAM decisions.
    fn admit(&self, uid: u32) -> bool {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let all: usize = users.values().sum();
        let mine = users.entry(uid).or_insert(0);
        if *mine >= PER_USER_CONNECTIONS || all >= MAX_CONNECTIONS - ROOT_RESERVE {
            return false;
        }
        *mine += 1;
        true
    }

    fn release(&self, uid: u32) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = users.get_mut(&uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                users.remove(&uid);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditSink;
    use crate::config::AgentConfig;

    fn pool() -> Pool {
        let dir = std::env::temp_dir().join(format!("pam-mfa-workers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let cfg = AgentConfig::parse("node: {name: n}\n", "t").unwrap();
        let state =
            AgentState::new(cfg, AuditSink::Stderr, Arc::new(std::time::SystemTime::now)).unwrap();
        Pool {
            listener,
            state: Arc::new(state),
            stop: Arc::new(AtomicBool::new(false)),
            idle: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
            users: Mutex::new(HashMap::new()),
        }
    }

    #[test]
    fn non_root_users_get_a_share_and_root_keeps_a_reserve() {
        let p = pool();
        for _ in 0..PER_USER_CONNECTIONS {
            assert!(p.admit(1000));
        }
        assert!(!p.admit(1000), "one user is capped");
        p.release(1000);
        assert!(p.admit(1000), "a released slot is free again");
        // Many users together stop short of the root reserve.
        let mut admitted = PER_USER_CONNECTIONS;
        for uid in 2000..2100 {
            while p.admit(uid) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, MAX_CONNECTIONS - ROOT_RESERVE);
    }
}
