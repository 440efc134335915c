//! Challenges that already had their answer.
//!
//! Every challenge gets one answer: a refused try gets a fresh challenge, an
//! accepted one ends the conversation. The texts are kept a while so that
//! an answer presented again is refused as "already used" rather than as a
//! bad signature.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long a used challenge is remembered (well past its own lifetime).
pub const USED_TTL: Duration = Duration::from_secs(3600);
const MAX_USED: usize = 10_000;

#[derive(Default)]
pub struct UsedChallenges {
    list: Mutex<VecDeque<(String, SystemTime)>>,
}

impl UsedChallenges {
    pub fn mark(&self, text: &str, now: SystemTime) {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        while list
            .front()
            .is_some_and(|(_, at)| !fresh(*at, now) || list.len() >= MAX_USED)
        {
            list.pop_front();
        }
        list.push_back((text.to_string(), now));
    }

    pub fn was_used(&self, text: &str, now: SystemTime) -> bool {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().any(|(t, at)| t == text && fresh(*at, now))
    }

    /// The used challenges for `node`/`login` (latest first), to check an
    /// answer that names none against.
    pub fn recent_for(&self, prefix: &str, now: SystemTime, max: usize) -> Vec<String> {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .rev()
            .filter(|(t, at)| t.starts_with(prefix) && fresh(*at, now))
            .take(max)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

fn fresh(at: SystemTime, now: SystemTime) -> bool {
    now.duration_since(at).map_or(true, |a| a < USED_TTL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_a_while() {
        let u = UsedChallenges::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(!u.was_used("pmfa1:n:l:x", now));
        u.mark("pmfa1:n:l:x", now);
        u.mark("pmfa1:n:m:y", now);
        assert!(u.was_used("pmfa1:n:l:x", now));
        assert_eq!(u.recent_for("pmfa1:n:l:", now, 5), vec!["pmfa1:n:l:x"]);
        assert!(!u.was_used("pmfa1:n:l:x", now + USED_TTL));
    }
}
