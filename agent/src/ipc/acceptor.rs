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
//! What this does not do: keep the listen backlog from filling. The kernel
//! queues connections before the agent sees who makes them, and processes
//! blocked in `connect` refill each slot the agent frees at once, so one
//! local user can keep the queue full and other users' connects wait
//! (their own budgets decide nothing about that queue).
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
use super::shared::{refuse, Refusal, Shared};
use super::thread_bound::{threads_for, ThreadBound};
use crate::state::AgentState;

/// Threads kept waiting in `accept` for the next connections; more end once
/// their connection is served.
pub const KEEP_IDLE: usize = 4;

/// How long a thread that served a root peer watches the listener awake
/// ([`watch_awake`]).
pub const ACCEPT_SPIN: Duration = Duration::from_micros(300);

/// Accepts and serves connections until `stop` is set. To stop, a watcher
/// thread shuts the listener down, which makes every blocked `accept`
/// return.
pub fn serve(
    listener: UnixListener,
    state: Arc<AgentState>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let capacity = super::fd_limit::raise_for_connections();
    let budgets = Budgets::with_capacity(state.keys_uid, capacity);
    let shared = Arc::new(Shared {
        listener,
        state,
        budgets,
        stop,
        accepting: AtomicUsize::new(0),
        watching: AtomicBool::new(false),
        threads: ThreadBound::new(threads_for(capacity, KEEP_IDLE)),
    });
    let watcher = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("stop-watch".into())
            .spawn(move || {
                while !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = rustix::net::shutdown(&shared.listener, rustix::net::Shutdown::Both);
            })?
    };
    // The calling thread accepts too, and stays until the agent stops.
    accept_loop(&shared, true);
    let _ = watcher.join();
    Ok(())
}

/// Accepts and serves connections. A thread that is not `lasting` ends
/// after serving when [`KEEP_IDLE`] others already wait.
fn accept_loop(shared: &Arc<Shared>, lasting: bool) {
    while !shared.stop.load(Ordering::Relaxed) {
        shared.accepting.fetch_add(1, Ordering::SeqCst);
        let accepted = shared.listener.accept();
        let others = shared.accepting.fetch_sub(1, Ordering::SeqCst) - 1;
        match accepted {
            Ok((stream, _)) => {
                // A non-root peer over its budget is refused here, before
                // it can cost a thread.
                let Some(accepted) = at_accept(shared, stream) else {
                    continue;
                };
                if others == 0 {
                    if let Err(why) = start_acceptor(shared) {
                        // Nobody else would accept while this thread serves.
                        refuse(accepted.stream, &shared.state, Refusal::NoThread, &why);
                        continue;
                    }
                }
                if serve_guarded(shared, accepted) {
                    watch_awake(shared);
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
        if !lasting && shared.accepting.load(Ordering::SeqCst) >= KEEP_IDLE {
            return;
        }
    }
}

/// Starts one more accepting thread; `Err` says why none could be started
/// (the system's limit, or `super::thread_bound`'s).
fn start_acceptor(shared: &Arc<Shared>) -> Result<(), String> {
    let token = shared.threads.try_take().ok_or_else(|| {
        format!(
            "the agent runs as many threads as it may ({})",
            shared.threads.max()
        )
    })?;
    let shared = Arc::clone(shared);
    // Counted before it starts, so the next connection does not start
    // another one meanwhile.
    shared.accepting.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new().name("conn".into()).spawn({
        let shared = Arc::clone(&shared);
        move || {
            let _running = token;
            shared.accepting.fetch_sub(1, Ordering::SeqCst);
            accept_loop(&shared, false)
        }
    });
    spawned.map(drop).map_err(|e| {
        shared.accepting.fetch_sub(1, Ordering::SeqCst);
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
fn watch_awake(shared: &Shared) {
    if shared.watching.swap(true, Ordering::AcqRel) {
        return;
    }
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let until = Instant::now() + ACCEPT_SPIN;
    while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(&shared.listener, PollFlags::IN)];
        if matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0) {
            break;
        }
        std::thread::yield_now();
    }
    shared.watching.store(false, Ordering::Release);
}
