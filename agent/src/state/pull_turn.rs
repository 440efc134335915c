//! One pull at a time: the sync book's lock, held by a pull from its start
//! to its install (the reloader's polls and SIGHUP, `mfactl sync` and
//! `reload`) and by `forget-user`. While a pull runs the store says so,
//! and since when (`mfactl status`). A request someone waits on waits a
//! little for a pull in progress, then says one is, rather than wait for
//! it to end (up to `cluster.timeout`) and then pull again.

use std::sync::{MutexGuard, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use super::agent_state::{AgentState, SyncBook};
use super::policy_store::PolicyStore;
use crate::utc_time::rfc3339_utc;

/// How long `mfactl sync`, `reload` and `forget-user` wait for a pull in
/// progress to end: a poll that finds the source well takes far less.
pub const BUSY_WAIT: Duration = Duration::from_secs(2);

/// How often a waiting request looks again.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// The sync book, waited for as long as it takes (the reloader's pulls).
pub(super) fn book(state: &AgentState) -> MutexGuard<'_, SyncBook> {
    state.sync_book.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sync book, when it is free within `wait`.
pub(super) fn book_within(
    state: &AgentState,
    wait: Duration,
) -> Result<MutexGuard<'_, SyncBook>, Busy> {
    let until = Instant::now() + wait;
    loop {
        match state.sync_book.try_lock() {
            Ok(book) => return Ok(book),
            Err(TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() < until => {
                std::thread::sleep(LOOK_EVERY)
            }
            Err(TryLockError::WouldBlock) => return Err(Busy::of(state)),
        }
    }
}

/// Marks a pull as running in the store until dropped (whatever its end).
pub(super) struct Pulling<'a>(&'a PolicyStore);

impl<'a> Pulling<'a> {
    pub(super) fn begin(store: &'a PolicyStore, at: SystemTime) -> Pulling<'a> {
        store.begin_pull(at);
        Pulling(store)
    }
}

impl Drop for Pulling<'_> {
    fn drop(&mut self) {
        self.0.end_pull();
    }
}

/// The sync book stayed held for longer than a request waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// The source and when its pull began; `None`: the book is held by
    /// something else (a `forget-user`, the cached copy's install).
    pull: Option<(String, SystemTime, SystemTime)>,
    timeout: Duration,
}

impl Busy {
    fn of(state: &AgentState) -> Busy {
        Busy {
            pull: state
                .store
                .snapshot()
                .pull_started
                .map(|at| (state.source.describe(), at, state.now())),
            timeout: state.config.cluster.timeout,
        }
    }

    /// Why `not_done` ("not pulled again", ...): a pull in progress.
    pub fn message(&self, not_done: &str) -> String {
        match &self.pull {
            Some((source, at, now)) => format!(
                "a pull of {source} is in progress (since {}, {}s ago; cluster.timeout ends it within {}s): {not_done}; `mfactl status` shows its result",
                rfc3339_utc(*at),
                now.duration_since(*at).unwrap_or_default().as_secs(),
                self.timeout.as_secs_f64()
            ),
            None => format!(
                "the policy is being changed (for longer than {}s): {not_done}; try again",
                BUSY_WAIT.as_secs()
            ),
        }
    }
}
