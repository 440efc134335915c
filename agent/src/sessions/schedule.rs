//! When the session enforcer looks next: at the next
//! `sessions.check_interval`, or sooner at the earliest instant a live
//! session must end by time alone: its certificate's end under
//! `disconnect_expired_cert`, or, for a strict session, the lock view
//! going stale. Teleport's session monitor arms a timer for the
//! certificate's end rather than polling for it (lib/srv/monitor.go
//! `Monitor.start`: `discTime := w.DisconnectExpiredCert.Sub(now)`, a
//! ticker for it, and the session ends when it fires), and its lock
//! watcher reports a stale view when it goes stale
//! (lib/services/watcher.go `lockCollector.notifyStale`). Idle timeouts
//! are still checked every interval (`idle`).
//!
//! A new session, a policy load or a change of the lock view rings the
//! [`EnforcerBell`], and the enforcer takes its deadlines into account.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime};

use super::session::Session;

/// Rung when a session opens, a policy is installed or the lock view
/// changes: the enforcer waiting on it looks at the deadlines again.
#[derive(Default)]
pub struct EnforcerBell {
    rings: Mutex<u64>,
    rung: Condvar,
}

impl EnforcerBell {
    pub fn ring(&self) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        *rings = rings.wrapping_add(1);
        self.rung.notify_all();
    }

    /// How many times it has rung so far.
    pub fn rings(&self) -> u64 {
        *self.rings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until it rings past `heard` or `timeout` passes, whichever
    /// comes first; returns the rings so far.
    pub fn wait(&self, heard: u64, timeout: Duration) -> u64 {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let (rings, _) = self
            .rung
            .wait_timeout_while(rings, timeout, |r| *r == heard)
            .unwrap_or_else(|p| p.into_inner());
        *rings
    }
}

/// How long from `now` until the earliest instant one of `sessions` (those
/// not already ending) must be judged again by time alone: its
/// certificate's end (its terms' `ends_at`; for a session without terms,
/// its certificate's `valid_before`, which the policy in force may or may
/// not make it end at), or for a strict session (or one without terms,
/// judged by the policy in force) the lock view going stale, which
/// `lock_view_stale_in` says. `Some(ZERO)` when such an instant has
/// passed; `None` when there is none.
pub fn earliest_deadline(
    sessions: &[Session],
    now: SystemTime,
    lock_view_stale_in: Option<Duration>,
) -> Option<Duration> {
    let live = sessions.iter().filter(|s| s.ending.is_none());
    let mut earliest: Option<Duration> = None;
    for s in live {
        let ends_at = match s.terms {
            Some(terms) => terms.ends_at,
            None => s.identity.as_ref().and_then(|u| u.cert().cert_expires),
        };
        let until_end = ends_at.map(|end| end.duration_since(now).unwrap_or_default());
        let until_stale = lock_view_stale_in.filter(|_| s.terms.is_none_or(|t| t.strict));
        for d in until_end.into_iter().chain(until_stale) {
            earliest = Some(earliest.map_or(d, |e| e.min(d)));
        }
    }
    earliest
}

/// How long the enforcer sleeps after a check: until the next
/// `interval`, or until the earliest deadline still ahead. A deadline
/// already past does not count: the check just made ended what it could,
/// and what it could not (no policy loaded) waits for the interval rather
/// than spinning.
pub fn after_check(interval: Duration, earliest: Option<Duration>) -> Duration {
    earliest
        .filter(|d| !d.is_zero())
        .map_or(interval, |d| d.min(interval))
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
