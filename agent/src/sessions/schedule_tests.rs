//! The enforcer's schedule: the earliest deadline of the live sessions,
//! and how long it sleeps after a check.

use std::time::{Duration, SystemTime};

use super::*;
use crate::policy::{SessionTerms, User};
use crate::sessions::registry::tests::session;

const T0: SystemTime = SystemTime::UNIX_EPOCH;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn with_terms(strict: bool, ends_in: Option<u64>) -> Session {
    let mut s = session(1, 1, "jerry");
    s.terms = Some(SessionTerms {
        strict,
        ends_at: ends_in.map(|e| T0 + secs(e)),
        idle_timeout: None,
    });
    s
}

#[test]
fn the_earliest_certificate_end_or_strict_staleness_of_the_live_sessions() {
    let now = T0 + secs(100);
    let stale_in = Some(secs(40));
    let sessions = [with_terms(false, Some(160)), with_terms(false, Some(130))];
    assert_eq!(earliest_deadline(&sessions, now, None), Some(secs(30)));
    // A best-effort session does not end on a stale lock view.
    assert_eq!(
        earliest_deadline(&sessions, now, Some(secs(5))),
        Some(secs(30))
    );
    let strict = [with_terms(true, None), with_terms(false, Some(160))];
    assert_eq!(earliest_deadline(&strict, now, stale_in), Some(secs(40)));
    assert_eq!(earliest_deadline(&strict, now, None), Some(secs(60)));
    // One already ending no longer counts.
    let mut ending = with_terms(false, Some(101));
    ending.ending = Some("locked".into());
    let both = [ending, with_terms(false, Some(160))];
    assert_eq!(earliest_deadline(&both, now, stale_in), Some(secs(60)));
    // A session without terms: its certificate's end, and the lock view.
    let mut legacy = session(1, 1, "jerry");
    assert_eq!(earliest_deadline(&[legacy.clone()], now, None), None);
    assert_eq!(
        earliest_deadline(&[legacy.clone()], now, stale_in),
        stale_in
    );
    legacy.identity = Some(User::default().with_certificate(|c| {
        c.cert_expires = Some(T0 + secs(110));
    }));
    assert_eq!(earliest_deadline(&[legacy], now, stale_in), Some(secs(10)));
    // Past: zero.
    let past = [with_terms(false, Some(90))];
    assert_eq!(earliest_deadline(&past, now, None), Some(Duration::ZERO));
    assert_eq!(earliest_deadline(&[], now, stale_in), None);
}

/// After a check, a deadline ahead shortens the sleep; one already past
/// (a session the check could not end, as with no policy) does not make
/// the enforcer spin: it waits for the interval.
#[test]
fn after_a_check_the_enforcer_sleeps_to_the_deadline_ahead_or_the_interval() {
    let interval = secs(10);
    assert_eq!(after_check(interval, Some(secs(3))), secs(3));
    assert_eq!(after_check(interval, Some(secs(30))), interval);
    assert_eq!(after_check(interval, None), interval);
    assert_eq!(after_check(interval, Some(Duration::ZERO)), interval);
}

#[test]
fn the_bell_wakes_a_waiter_and_every_wait_ends() {
    let bell = std::sync::Arc::new(EnforcerBell::default());
    let heard = bell.rings();
    // Not rung: the wait ends at its timeout.
    assert_eq!(bell.wait(heard, Duration::from_millis(10)), heard);
    let ringer = std::sync::Arc::clone(&bell);
    let t = std::thread::spawn(move || ringer.ring());
    // Rung: heard long before an hour.
    let rings = bell.wait(heard, secs(3600));
    assert_eq!(rings, heard + 1);
    t.join().unwrap();
}
