//! When to pull next: the poll interval with ±10% jitter, and exponential
//! backoff after failures (doubling, capped, reset by a success).

use std::time::Duration;

/// A small seeded generator (SplitMix64): jitter needs spread, not secrecy,
/// and tests need the same sequence every run.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    pub fn seeded(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    /// Seeded from the kernel, for the daemon.
    pub fn from_entropy() -> Jitter {
        let mut b = [0u8; 8];
        let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
        Jitter::seeded(u64::from_le_bytes(b))
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `d` scaled by a factor in [0.9, 1.1).
    pub fn spread(&mut self, d: Duration) -> Duration {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        d.mul_f64(0.9 + 0.2 * unit)
    }
}

#[derive(Debug, Clone)]
pub struct PollSchedule {
    interval: Duration,
    max_backoff: Duration,
    failures: u32,
    jitter: Jitter,
}

impl PollSchedule {
    pub fn new(interval: Duration, max_backoff: Duration, jitter: Jitter) -> PollSchedule {
        PollSchedule {
            interval,
            max_backoff: max_backoff.max(interval),
            failures: 0,
            jitter,
        }
    }

    /// The wait before the next pull, after a pull that succeeded or failed.
    pub fn after(&mut self, success: bool) -> Duration {
        if success {
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        let base = self
            .interval
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.max_backoff);
        self.jitter.spread(base)
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent_and_is_seeded() {
        let mut a = Jitter::seeded(42);
        let mut b = Jitter::seeded(42);
        let d = Duration::from_secs(100);
        let xs: Vec<Duration> = (0..1000).map(|_| a.spread(d)).collect();
        let ys: Vec<Duration> = (0..1000).map(|_| b.spread(d)).collect();
        assert_eq!(xs, ys, "same seed, same sequence");
        assert!(xs
            .iter()
            .all(|x| *x >= Duration::from_secs(90) && *x < Duration::from_secs(110)));
        let lo = xs.iter().filter(|x| **x < Duration::from_secs(95)).count();
        let hi = xs
            .iter()
            .filter(|x| **x >= Duration::from_secs(105))
            .count();
        assert!(
            lo > 150 && hi > 150,
            "spread over the range: {lo} low, {hi} high"
        );
        let mut c = Jitter::seeded(43);
        assert_ne!(xs[0], c.spread(d), "another seed, another value");
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut s = PollSchedule::new(
            Duration::from_secs(10),
            Duration::from_secs(60),
            Jitter::seeded(7),
        );
        let within = |d: Duration, base: u64| {
            d >= Duration::from_secs(base).mul_f64(0.9)
                && d < Duration::from_secs(base).mul_f64(1.1)
        };
        assert!(within(s.after(true), 10));
        assert!(within(s.after(false), 20));
        assert!(within(s.after(false), 40));
        assert!(within(s.after(false), 60), "capped");
        for _ in 0..100 {
            assert!(within(s.after(false), 60));
        }
        assert_eq!(s.failures(), 103);
        assert!(within(s.after(true), 10), "reset on success");
        assert_eq!(s.failures(), 0);
    }
}
