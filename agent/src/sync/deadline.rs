//! One deadline for a whole pull: every request of it (a bundle and its
//! signature; a manifest, its signature and the bundle it names) shares
//! `cluster.timeout`, from the first connection to the last byte. A
//! server that drips its answer a byte at a time cannot hold a pull (and
//! with it the sync lock, `mfactl sync`, `reload` and SIGHUP) for longer.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct PullDeadline {
    at: Instant,
    limit: Duration,
}

impl PullDeadline {
    /// A pull starting now that may take `limit` (`cluster.timeout`).
    pub fn after(limit: Duration) -> PullDeadline {
        PullDeadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    /// The time left, or the error of a pull that ran out of it.
    pub fn remaining(&self) -> Result<Duration, String> {
        match self.at.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(self.exceeded()),
        }
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// What a pull stopped at its deadline says.
    pub fn exceeded(&self) -> String {
        format!(
            "the pull took longer than cluster.timeout ({}s) and was stopped",
            self.limit.as_secs_f64()
        )
    }

    /// `error` of a request, said as the deadline when it had passed (the
    /// request's own timeout, set to the time left, is what ended it).
    pub fn explain(&self, error: String) -> String {
        if self.passed() {
            format!("{}: {error}", self.exceeded())
        } else {
            error
        }
    }

    /// Waits `d`, unless that would end past the deadline: then the pull
    /// stops now, with the deadline's error.
    pub fn sleep(&self, d: Duration) -> Result<(), String> {
        if self.remaining()? <= d {
            return Err(self.exceeded());
        }
        std::thread::sleep(d);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_deadline_leaves_no_time_and_says_which_limit() {
        let d = PullDeadline::after(Duration::ZERO);
        let e = d.remaining().unwrap_err();
        assert!(e.contains("longer than cluster.timeout (0s)"), "{e}");
        assert!(d.sleep(Duration::from_millis(1)).is_err());
        assert!(d.explain("timed out".into()).ends_with(": timed out"));
        let later = PullDeadline::after(Duration::from_secs(3600));
        assert!(later.remaining().unwrap() > Duration::from_secs(3500));
        assert_eq!(later.explain("refused".into()), "refused");
        // A wait that would end past the deadline is not started.
        assert!(later.sleep(Duration::from_secs(7200)).is_err());
    }
}
