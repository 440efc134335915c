//! A rate limit on the audit events of decisions non-root peers ask for.
//! Any local user may ask about themselves (a screen locker does), as fast
//! as they can loop `begin`: unlimited, each answer is one audit record,
//! and journald's per-service rate limit (10,000 in 30 s by default) then
//! drops the agent's records of real sshd and sudo decisions. Each uid
//! gets a token bucket; past it, its events are counted, not written, and
//! the next one written is preceded by one summary ("N decision events of
//! uid U suppressed"). Root peers (sshd, sudo, su, login) are never
//! limited. The decisions themselves, and their counters, are unchanged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Events of one uid written in a burst.
pub const BURST: u32 = 30;
/// Then one more every this long.
pub const REFILL_EVERY: Duration = Duration::from_secs(1);
/// Uids remembered at most; past it, those whose bucket is full again (no
/// recent events) are forgotten.
const MAX_UIDS: usize = 4096;

/// One uid's bucket: tokens left, when last refilled, events suppressed
/// since the last one written.
struct Bucket {
    tokens: u32,
    refilled: SystemTime,
    suppressed: u64,
}

/// What to do with one event of a non-root peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Write it, after a summary of the `suppressed` events before it
    /// (when there were any).
    Write { suppressed: u64 },
    /// Count it; write nothing.
    Suppress,
}

#[derive(Default)]
pub struct PeerAuditLimit {
    buckets: Mutex<HashMap<u32, Bucket>>,
}

impl PeerAuditLimit {
    /// Whether an event of `uid` at `now` is written. A clock stepped back
    /// refills nothing.
    pub fn admit(&self, uid: u32, now: SystemTime) -> Admission {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_UIDS && !buckets.contains_key(&uid) {
            buckets.retain(|_, b| b.suppressed > 0 || refill(b, now) < BURST);
        }
        let b = buckets.entry(uid).or_insert(Bucket {
            tokens: BURST,
            refilled: now,
            suppressed: 0,
        });
        b.tokens = refill(b, now);
        if b.tokens < BURST {
            // Refilled up to `now` in whole steps; the rest carries over.
            let steps = u32::try_from(elapsed_steps(b.refilled, now)).unwrap_or(u32::MAX);
            b.refilled += REFILL_EVERY * steps;
        } else {
            b.refilled = now;
        }
        if b.tokens == 0 {
            b.suppressed += 1;
            return Admission::Suppress;
        }
        b.tokens -= 1;
        Admission::Write {
            suppressed: std::mem::take(&mut b.suppressed),
        }
    }
}

/// `b`'s tokens once refilled up to `now`.
fn refill(b: &Bucket, now: SystemTime) -> u32 {
    let steps = elapsed_steps(b.refilled, now);
    u32::try_from(u64::from(b.tokens) + steps)
        .unwrap_or(BURST)
        .min(BURST)
}

fn elapsed_steps(from: SystemTime, now: SystemTime) -> u64 {
    let elapsed = now.duration_since(from).unwrap_or_default();
    (elapsed.as_nanos() / REFILL_EVERY.as_nanos()).min(u128::from(BURST)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_a_second_and_the_rest_counted_once() {
        let limit = PeerAuditLimit::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for _ in 0..BURST {
            assert_eq!(limit.admit(1000, t0), Admission::Write { suppressed: 0 });
        }
        for _ in 0..500 {
            assert_eq!(limit.admit(1000, t0), Admission::Suppress);
        }
        // Another user is not held by the first one's flood.
        assert_eq!(limit.admit(1001, t0), Admission::Write { suppressed: 0 });
        // Within a second nothing more; then one event, with the count.
        let almost = t0 + REFILL_EVERY - Duration::from_millis(1);
        assert_eq!(limit.admit(1000, almost), Admission::Suppress);
        let later = t0 + REFILL_EVERY;
        assert_eq!(
            limit.admit(1000, later),
            Admission::Write { suppressed: 501 }
        );
        assert_eq!(limit.admit(1000, later), Admission::Suppress);
        // Quiet for long: the whole burst again, no more.
        let quiet = later + REFILL_EVERY * 1000;
        for _ in 0..BURST {
            assert!(matches!(limit.admit(1000, quiet), Admission::Write { .. }));
        }
        assert_eq!(limit.admit(1000, quiet), Admission::Suppress);
        // A clock stepped back refills nothing.
        assert_eq!(limit.admit(1000, t0), Admission::Suppress);
    }
}
