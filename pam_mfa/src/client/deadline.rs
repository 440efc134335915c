//! The exchange's deadline.

use std::time::{Duration, Instant};

/// A point in time the exchange must not pass. It moves later by the time
/// spent in the PAM conversation (waiting on the person is not the agent's
/// time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    end: Instant,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline {
            end: Instant::now() + budget,
        }
    }

    /// Time left, or `None` once the deadline has passed.
    pub fn remaining(&self) -> Option<Duration> {
        let left = self.end.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Moves the deadline later by `by`.
    pub fn extend(&mut self, by: Duration) {
        self.end += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_and_extend() {
        let mut d = Deadline::after(Duration::ZERO);
        assert_eq!(d.remaining(), None);
        d.extend(Duration::from_secs(60));
        let left = d.remaining().unwrap();
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60));
    }
}
