//! The agent's log lines about what others did: what peers did wrong (a bad
//! frame, a request they may not make, a refused connection) or a key's
//! clone warning. Any local user can make them, as fast as they can
//! connect: unthrottled, they would flood the journal until
//! journald drops the agent's own messages. Each kind is written at most
//! once a second, with how many were left out. What a peer chose (a PAM
//! service name, a login) is quoted, so it cannot start a line of its own.
//! Lines go out without waiting (`audit::write_stderr`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often one kind of line is written at most.
const EVERY: Duration = Duration::from_secs(1);

/// One kind of line.
pub(crate) struct Throttled {
    left_out: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Throttled {
    pub(crate) const fn new() -> Self {
        Throttled {
            left_out: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }

    /// Writes `line` (with the count of lines left out since the last one)
    /// unless one was written less than a second ago. True when written.
    pub(crate) fn write(&self, line: impl FnOnce() -> String) -> bool {
        self.write_at(Instant::now(), line)
    }

    pub(crate) fn write_at(&self, now: Instant, line: impl FnOnce() -> String) -> bool {
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| now.duration_since(t) < EVERY) {
                self.left_out.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            *last = Some(now);
        }
        let n = self.left_out.swap(0, Ordering::Relaxed);
        let text = line();
        // Without waiting, and not under the lock: a stalled journal must
        // not hold the threads that refuse peers (as audit records, a line
        // that finds no room is counted and said later).
        let _ = super::write_stderr(&if n == 0 {
            format!("mfa-agent: {text}")
        } else {
            format!("mfa-agent: {text} ({n} more such lines left out)")
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_and_the_rest_counted() {
        let t = Throttled::new();
        let start = Instant::now();
        assert!(t.write_at(start, || "first".into()));
        for i in 1..1000 {
            let at = start + Duration::from_micros(i);
            assert!(!t.write_at(at, || panic!("not formatted when left out")));
        }
        assert_eq!(t.left_out.load(Ordering::Relaxed), 999);
        assert!(t.write_at(start + EVERY, || "second".into()));
        assert_eq!(t.left_out.load(Ordering::Relaxed), 0);
    }
}
