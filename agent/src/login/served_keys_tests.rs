//! Tests of [`super::served_keys`] and its table.

use std::time::{Duration, Instant};

use super::authorized_keys_changes::KeyFilesState;
use super::served_keys::ServedKeys;
use super::served_keys_table::{MAX_ENTRIES, MAX_LINES_PER_CONNECTION, SERVED_TTL};
use super::served_lines::ServedLine;
use super::sshd_connection::ConnectionId;

fn line(blob: &str, verify_required: bool) -> ServedLine {
    ServedLine {
        line: String::new(),
        key_type: "t".into(),
        blob: blob.into(),
        verify_required,
    }
}

/// `n` lines, blobs `k0`, `k1`, ..., without verify-required.
fn lines(n: usize) -> Vec<ServedLine> {
    (0..n).map(|i| line(&format!("k{i}"), false)).collect()
}

fn connection(n: usize) -> Option<ConnectionId> {
    Some(ConnectionId::new(i32::try_from(n).unwrap() + 100, 7))
}

fn verify(s: &ServedKeys, login: &str, c: Option<ConnectionId>) -> Option<bool> {
    s.served(login, "t", "b", c).map(|s| s.verify_required)
}

fn record(s: &ServedKeys, login: &str, served: &[ServedLine], c: Option<ConnectionId>) {
    s.record(login, served, &KeyFilesState::unreadable(), c);
}

/// Whether `key` served for `login` to `c` is remembered at `now`.
fn remembered(
    s: &ServedKeys,
    login: &str,
    key: &str,
    c: Option<ConnectionId>,
    now: Instant,
) -> bool {
    s.served_at(login, ("t", key), c, now).is_some()
}

#[test]
fn remembers_per_login_and_key() {
    let s = ServedKeys::default();
    assert_eq!(verify(&s, "j", None), None);
    record(&s, "j", &[line("b", true)], None);
    assert_eq!(verify(&s, "j", None), Some(true));
    assert_eq!(verify(&s, "k", None), None, "per login");
    record(&s, "j", &[line("b", false)], None);
    assert_eq!(verify(&s, "j", None), Some(false));
}

/// Connection A was served a line without verify-required (sshd asked
/// no PIN); after a policy reload, connection B's has it. A is never
/// credited B's PIN, B keeps its own; a connection that is not known
/// gets the weakest, one with no serve of its own none.
#[test]
fn a_serve_for_another_connection_never_stands_for_this_one() {
    let s = ServedKeys::default();
    let (a, b) = (ConnectionId::new(100, 7), ConnectionId::new(200, 9));
    record(&s, "j", &[line("b", false)], Some(a));
    record(&s, "j", &[line("b", true)], Some(b));
    assert_eq!(verify(&s, "j", Some(a)), Some(false));
    assert_eq!(verify(&s, "j", Some(b)), Some(true));
    assert_eq!(verify(&s, "j", None), Some(false), "the weakest");
    // The other order: still the weakest for an unknown connection.
    let s = ServedKeys::default();
    record(&s, "j", &[line("b", true)], Some(b));
    record(&s, "j", &[line("b", false)], Some(a));
    assert_eq!(verify(&s, "j", None), Some(false));
    assert_eq!(verify(&s, "j", Some(b)), Some(true));
    // A connection with no serve of its own was served nothing: sshd
    // found the key elsewhere.
    let c = ConnectionId::new(300, 1);
    assert_eq!(verify(&s, "j", Some(c)), None);
}

/// A connection's later call (another key offered) keeps what its earlier
/// one served; a key served twice in one call counts as its weaker line.
#[test]
fn a_connections_calls_add_up_and_a_key_served_twice_is_the_weaker() {
    let s = ServedKeys::default();
    let c = connection(1);
    record(&s, "j", &[line("b", true)], c);
    record(&s, "j", &[line("other", false)], c);
    assert_eq!(verify(&s, "j", c), Some(true));
    assert_eq!(s.len(), 2);
    let s = ServedKeys::default();
    record(&s, "j", &[line("b", true), line("b", false)], c);
    assert_eq!(verify(&s, "j", c), Some(false));
    record(&s, "j", &[line("b", false), line("b", true)], c);
    assert_eq!(verify(&s, "j", c), Some(false));
}

/// The reported flood: connections to `deploy@`, 100 served lines each,
/// fill the table; the victim's serve comes near the end, and the flood
/// goes on past the limit before the victim's PAM step. Its serve is
/// still there (a wipe of the whole table used to lose it), and the table
/// stays within its bound.
#[test]
fn a_flood_past_the_limit_keeps_a_recent_serve() {
    let s = ServedKeys::default();
    let served = lines(100);
    let before = MAX_ENTRIES / 100 - 1;
    for n in 0..before {
        record(&s, "deploy", &served, connection(n));
    }
    let victim = connection(before);
    record(&s, "deploy", &served, victim);
    assert_eq!(s.len(), MAX_ENTRIES);
    for n in before + 1..before + 51 {
        record(&s, "deploy", &served, connection(n));
    }
    let now = Instant::now();
    assert!(
        remembered(&s, "deploy", "k42", victim, now),
        "the victim's serve was lost"
    );
    assert!(s.len() <= MAX_ENTRIES, "{}", s.len());
    // What went: the oldest connections' serves.
    assert!(!remembered(&s, "deploy", "k42", connection(0), now));
    assert!(remembered(&s, "deploy", "k42", connection(before - 1), now));
}

/// A flood through one login pushes out that login's oldest serves, never
/// another login's, however long it goes on.
#[test]
fn a_flood_through_one_login_leaves_other_logins_serves() {
    let s = ServedKeys::default();
    let victim = connection(0);
    record(&s, "alice", &[line("b", true)], victim);
    let served = lines(100);
    for n in 1..=(MAX_ENTRIES / 100) * 3 / 2 {
        record(&s, "deploy", &served, connection(n));
    }
    assert_eq!(verify(&s, "alice", victim), Some(true));
    assert!(s.len() <= MAX_ENTRIES, "{}", s.len());
}

/// When full, lines past the TTL go before any fresh one, even when the
/// login with the fresh ones holds the most.
#[test]
fn expired_lines_go_before_the_oldest_fresh_ones() {
    let s = ServedKeys::default();
    let files = KeyFilesState::unreadable();
    let t0 = Instant::now();
    let served = lines(100);
    let old = MAX_ENTRIES * 3 / 10 / 100;
    for n in 0..old {
        s.record_at("old", &served, &files, connection(n), t0);
    }
    let later = t0 + SERVED_TTL - Duration::from_secs(1);
    let oldest_fresh = connection(old);
    for n in old..MAX_ENTRIES / 100 {
        s.record_at("deploy", &served, &files, connection(n), later);
    }
    assert_eq!(s.len(), MAX_ENTRIES);
    let now = t0 + SERVED_TTL + Duration::from_secs(1);
    s.record_at("deploy", &served, &files, connection(MAX_ENTRIES), now);
    assert!(remembered(&s, "deploy", "k0", oldest_fresh, now));
    assert!(!remembered(&s, "old", "k0", connection(0), now));
    assert!(
        s.len() <= MAX_ENTRIES - MAX_ENTRIES * 3 / 10 + 100,
        "{}",
        s.len()
    );
}

/// One call serving more than a connection's share keeps its share: it
/// never fills the table, and others' serves stay.
#[test]
fn one_connection_holds_at_most_its_share() {
    let s = ServedKeys::default();
    let victim = connection(0);
    record(&s, "alice", &[line("b", true)], victim);
    let c = connection(1);
    record(&s, "deploy", &lines(MAX_LINES_PER_CONNECTION + 5), c);
    assert_eq!(s.len(), 1 + MAX_LINES_PER_CONNECTION);
    // Its next call (another key offered): the latest call's lines first.
    record(&s, "deploy", &[line("more", false)], c);
    assert_eq!(s.len(), 1 + MAX_LINES_PER_CONNECTION);
    assert_eq!(verify(&s, "alice", victim), Some(true));
    assert!(
        remembered(&s, "deploy", "more", c, Instant::now()),
        "the latest call's"
    );
}

/// Connections that are not known share one record: a key served there
/// again keeps its weaker line, whichever came first (the later, stronger
/// one used to replace it, lending a PIN sshd never asked for).
#[test]
fn unknown_connections_keep_the_weaker_line_of_a_key() {
    let s = ServedKeys::default();
    record(&s, "j", &[line("b", false)], None);
    record(&s, "j", &[line("b", true), line("other", true)], None);
    assert_eq!(verify(&s, "j", None), Some(false));
    assert_eq!(s.len(), 2);
}

/// `n` lines `k0`... ending with `b` (without verify-required).
fn lines_with_weak_b(n: usize) -> Vec<ServedLine> {
    let mut served = lines(n - 1);
    served.push(line("b", false));
    served
}

/// Connection A is served `b` without verify-required, B (after a policy
/// reload) with it; a flood through the same login then evicts A (the
/// oldest) and keeps B. An unknown connection may be A's: it gets no PIN,
/// while B keeps its own.
#[test]
fn an_evicted_weaker_line_leaves_unknown_connections_no_pin() {
    let s = ServedKeys::default();
    let (a, b) = (connection(0), connection(1));
    record(&s, "deploy", &lines_with_weak_b(100), a);
    record(&s, "deploy", &[line("b", true)], b);
    let served = lines(100);
    for n in 2..=MAX_ENTRIES / 100 {
        record(&s, "deploy", &served, connection(n));
    }
    let now = Instant::now();
    assert!(!remembered(&s, "deploy", "b", a, now), "A was evicted");
    assert_eq!(verify(&s, "deploy", b), Some(true));
    assert_eq!(verify(&s, "deploy", None), Some(false));
    // Once the TTL has passed since, lines served later count in full.
    let later = now + SERVED_TTL + Duration::from_secs(1);
    let files = KeyFilesState::unreadable();
    s.record_at("deploy", &[line("b", true)], &files, connection(0), later);
    let weakest = s.served_at("deploy", ("t", "b"), None, later);
    assert_eq!(weakest.map(|s| s.verify_required), Some(true));
}

/// Lines past a connection's share are not remembered, of its call or its
/// earlier ones: a weaker line lost so leaves unknown connections no PIN.
#[test]
fn a_weaker_line_past_a_connections_share_leaves_unknown_connections_no_pin() {
    let strong = connection(1);
    // Past the share of one call.
    let s = ServedKeys::default();
    record(
        &s,
        "j",
        &lines_with_weak_b(MAX_LINES_PER_CONNECTION + 1),
        connection(0),
    );
    record(&s, "j", &[line("b", true)], strong);
    assert_eq!(verify(&s, "j", None), Some(false));
    assert_eq!(verify(&s, "j", strong), Some(true));
    // An earlier call's line pushed out by the connection's later call.
    for c in [connection(0), None] {
        let s = ServedKeys::default();
        record(&s, "j", &[line("b", false)], c);
        record(&s, "j", &lines(MAX_LINES_PER_CONNECTION), c);
        assert!(!remembered(&s, "j", "b", c, Instant::now()), "{c:?}");
        record(&s, "j", &[line("b", true)], strong);
        assert_eq!(verify(&s, "j", None), Some(false), "{c:?}");
    }
}
