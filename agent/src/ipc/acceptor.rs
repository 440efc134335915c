//! The threads that accept: up to [`KEEP_IDLE`] threads wait in `accept` on
//! the listener (leader/followers; the kernel wakes one per connection).
//! The thread that gets a connection serves it itself, with no hand-off to
//! another thread, but only once another thread waits in `accept`: when it
//! was the last one, it starts a new one first. Before that, right after
//! `accept`, a non-root peer's connection is counted against its person
//! and refused at once when their budget is spent ([`super::pool`]): a
//! user's connections beyond their budget start no thread. When no thread
//! can be started (the system's limit, or the agent's own bound on
//! threads, `super::thread_bound`) the connection is refused at once and
//! the thread goes back to accepting. So some thread always accepts and no
//! connection waits for a busy thread.
//!
//! What this does not do: keep a listen backlog from filling. The kernel
//! queues connections before the agent sees who makes them, and processes
//! blocked in `connect` refill each slot the agent frees at once, so one
//! local user can keep the public socket's queue full and other users'
//! connects wait (their own budgets decide nothing about that queue).
//! That is why there are two listeners ([`Listeners`]), served alike by
//! threads of their own with the same budgets: the public socket, and one
//! only root may connect to (`<socket.path>.root`, mode 0600), where
//! pam_mfa.so running as root (sshd, sudo, su, login) connects first. No
//! unprivileged user can fill that one's queue.
//! After a root peer's connection one thread watches the listener awake
//! for a moment before it sleeps in `accept` again ([`watch_awake`]).

use std::io;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::budgets::Budgets;
use super::pool::{at_accept, serve_guarded};
use super::shared::{refuse, Listening, Refusal, Shared};
use super::thread_bound::{threads_for, ThreadBound};
use crate::state::AgentState;

/// Threads kept waiting in `accept` for the next connections; more end once
/// their connection is served.
pub const KEEP_IDLE: usize = 4;

/// How long a thread that served a root peer watches the listener awake
/// ([`watch_awake`]).
pub const ACCEPT_SPIN: Duration = Duration::from_micros(300);

/// The agent's listeners: the public socket, and the one beside it only
/// root may connect to (`None` when its path does not fit a socket
/// address).
pub struct Listeners {
    pub public: UnixListener,
    pub root: Option<UnixListener>,
}

/// Accepts and serves connections on both listeners, with one set of
/// budgets and one bound on threads, until `stop` is set. To stop, a
/// watcher thread shuts the listeners down, which makes every blocked
/// `accept` return.
pub fn serve(
    listeners: Listeners,
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let capacity = super::fd_limit::raise_for_connections();
    let shared = Arc::new(Shared {
        budgets: Budgets::with_capacity(state.keys_uid, capacity),
        state,
        stop,
        // Each of the two listeners keeps its own idle accepting threads.
        threads: ThreadBound::new(threads_for(capacity, 2 * KEEP_IDLE)),
    });
    let listening = |listener, root_only| {
        Arc::new(Listening {
            listener,
            root_only,
            accepting: AtomicUsize::new(0),
            watching: AtomicBool::new(false),
            shared: Arc::clone(&shared),
        })
    };
    let public = listening(listeners.public, false);
    let root = listeners.root.map(|l| listening(l, true));
    let all: Vec<Arc<Listening>> = std::iter::once(&public).chain(&root).cloned().collect();
    let watcher = std::thread::Builder::new()
        .name("stop-watch".into())
        .spawn(move || {
            while !shared.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
            for l in &all {
                let _ = rustix::net::shutdown(&l.listener, rustix::net::Shutdown::Both);
            }
        })?;
    // One lasting thread per listener: the calling thread for the public
    // one. Both stay until the agent stops.
    let root_lasting = match root {
        Some(root) => Some(
            std::thread::Builder::new()
                .name("accept-root".into())
                .spawn(move || accept_loop(&root, true))?,
        ),
        None => None,
    };
    accept_loop(&public, true);
    if let Some(t) = root_lasting {
        let _ = t.join();
    }
    let _ = watcher.join();
    Ok(())
}

/// Accepts and serves connections. A thread that is not `lasting` ends
/// after serving when [`KEEP_IDLE`] others already wait.
fn accept_loop(on: &Arc<Listening>, lasting: bool) {
    let shared = &on.shared;
    while !shared.stop.load(Ordering::Relaxed) {
        on.accepting.fetch_add(1, Ordering::SeqCst);
        let accepted = on.listener.accept();
        let others = on.accepting.fetch_sub(1, Ordering::SeqCst) - 1;
        match accepted {
            Ok((stream, _)) => {
                // A non-root peer over its budget is refused here, before
                // it can cost a thread.
                let Some(accepted) = at_accept(on, stream) else {
                    continue;
                };
                if others == 0 {
                    if let Err(why) = start_acceptor(on) {
                        // Nobody else would accept while this thread serves.
                        refuse(accepted.stream, &shared.state, Refusal::NoThread, &why);
                        continue;
                    }
                }
                if serve_guarded(shared, accepted) {
                    watch_awake(on);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if shared.stop.load(Ordering::Relaxed) => return,
            Err(e) => {
                // EMFILE and friends: wait a little instead of spinning.
                eprintln!("mfa-agent: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if !lasting && on.accepting.load(Ordering::SeqCst) >= KEEP_IDLE {
            return;
        }
    }
}

/// Starts one more accepting thread; `Err` says why none could be started
/// (the system's limit, or `super::thread_bound`'s).
fn start_acceptor(on: &Arc<Listening>) -> Result<(), String> {
    let threads = &on.shared.threads;
    let token = threads.try_take().ok_or_else(|| {
        format!(
            "the agent runs as many threads as it may ({})",
            threads.max()
        )
    })?;
    // Counted before it starts, so the next connection does not start
    // another one meanwhile.
    on.accepting.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new().name("conn".into()).spawn({
        let on = Arc::clone(on);
        move || {
            let _running = token;
            on.accepting.fetch_sub(1, Ordering::SeqCst);
            accept_loop(&on, false)
        }
    });
    spawned.map(drop).map_err(|e| {
        on.accepting.fetch_sub(1, Ordering::SeqCst);
        format!("the agent cannot start a thread: {e}")
    })
}

/// After a root peer's connection (pam_mfa.so in sshd, sudo, login): the
/// listener is watched awake for up to [`ACCEPT_SPIN`], giving up the CPU
/// between looks, then this thread goes back to `accept`. A PAM
/// application's next call (sshd's account after auth, the next pam_start)
/// comes within that time, and a thread asleep in `accept` is woken late:
/// tens of microseconds on a virtual machine whose idle vCPUs halt
/// (BENCHMARKS.md). One thread at a time watches so; no user can make it
/// watch (root peers only).
fn watch_awake(on: &Listening) {
    if on.watching.swap(true, Ordering::AcqRel) {
        return;
    }
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let until = Instant::now() + ACCEPT_SPIN;
    while Instant::now() < until && !on.shared.stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(&on.listener, PollFlags::IN)];
        if matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0) {
            break;
        }
        std::thread::yield_now();
    }
    on.watching.store(false, Ordering::Release);
}
