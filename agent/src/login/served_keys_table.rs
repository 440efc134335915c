//! What `ServedKeys` (in `served_keys.rs`) holds: the lines served to each
//! sshd connection, per login, bounded in all and per connection.
//!
//! Who fills it: every SSH connection that offers any key for a login the
//! policy serves keys for runs the keys command, so anyone who can reach
//! sshd adds a connection's worth of lines (all of the login's served
//! lines) per connection. All those calls come from one peer uid (the
//! AuthorizedKeysCommandUser, or root), and each connection is a new
//! [`ConnectionId`], which costs an attacker nothing; the login is the one
//! part of the key an attacker cannot multiply (only logins the policy
//! serves keys for are remembered). So when the table is full:
//!
//! 1. lines older than [`SERVED_TTL`] go first, in every login;
//! 2. then the oldest connection's lines of the login holding the most:
//!    a flood through one login (`deploy@`) pushes out its own oldest
//!    serves, never another login's while it holds more than they do.
//!
//! Nothing is ever cleared wholesale: a serve made a moment before its
//! login's PAM step goes only once it is the oldest of the login holding
//! the most and the table is full of newer lines (a flood through its own
//! login of 100 lines a connection: about 1,000 connections after it), not
//! in a wipe that may land at any moment. One connection holds at most
//! [`MAX_LINES_PER_CONNECTION`] lines, so no single call fills the table.
//!
//! Lines are kept per connection (sshd refuses a change of user within a
//! connection, so each connection has one login) in its login's record,
//! with the connection's calls in order: a look-up for a known connection
//! is two hash look-ups, eviction pops from the front of a queue.
//!
//! A look-up for a connection that is not known takes the weakest line
//! served for the login and key to any connection, so that a PIN counts
//! only when every line served within the TTL carried `verify-required`.
//! That holds only while no line went early: once one of the login's lines
//! is dropped before its TTL (evicted, or past a connection's share), the
//! weakest line left may be stronger than the one that went. So each login
//! keeps when it last lost a line early (one instant per login, which
//! eviction never removes), and until the TTL has passed since then, an
//! unknown connection's line counts without `verify-required` (touch only,
//! as every served line requires it). A flood through a login so costs its
//! unknown connections their PIN credit, never grants one. Known
//! connections are untouched: each has only its own lines.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use super::authorized_keys_changes::KeyFilesState;
use super::sshd_connection::ConnectionId;

/// How long a served line is remembered: sshd's default LoginGraceTime, the
/// longest an authentication may take. Longer only widens the time in
/// which the user's files could change under a held connection.
pub const SERVED_TTL: Duration = Duration::from_secs(120);

/// A line pam-mfa served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub verify_required: bool,
    /// When (wall clock, to compare with the files' change times).
    pub at: SystemTime,
    /// The login's authorized_keys files then.
    pub files: KeyFilesState,
}

/// Lines remembered, all logins together.
pub const MAX_ENTRIES: usize = 100_000;
/// Lines remembered for one sshd connection (the lines of one keys-command
/// call, with those of its earlier calls): a tenth of the whole. A login
/// with more served lines has the rest uncredited (each such key is asked
/// to tap, as one sshd found elsewhere), never the table filled by it.
pub const MAX_LINES_PER_CONNECTION: usize = MAX_ENTRIES / 10;

type Connection = Option<ConnectionId>;
/// (key type, key blob).
type LineKey = (String, String);

/// The lines served to one sshd connection.
struct ConnectionLines {
    lines: HashMap<LineKey, (Served, Instant)>,
    /// Its latest call's number in its login's `calls`.
    seq: u64,
}

/// What was served for one login.
#[derive(Default)]
struct LoginServes {
    connections: HashMap<Connection, ConnectionLines>,
    /// Keys-command calls, oldest first: (connection, number, when). A call
    /// whose number is not its connection's `seq` was followed by a later
    /// one of that connection (or its connection is gone): stale, skipped.
    calls: VecDeque<(Connection, u64, Instant)>,
    /// Lines held, all connections together.
    lines: usize,
}

#[derive(Default)]
pub struct ServedTable {
    logins: HashMap<String, LoginServes>,
    /// Per login, when it last lost a line before the line's TTL (see the
    /// module's doc): kept after its lines go, dropped once past the TTL.
    lost_early: HashMap<String, Instant>,
    /// Lines held, all logins together.
    lines: usize,
    next_seq: u64,
}

fn expired(at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(at) >= SERVED_TTL
}

impl LoginServes {
    /// Takes `connection`'s lines out (its call in `calls` goes stale).
    fn take(&mut self, connection: Connection) -> Option<ConnectionLines> {
        let taken = self.connections.remove(&connection)?;
        self.lines -= taken.lines.len();
        Some(taken)
    }

    /// Whether `call` is its connection's latest.
    fn is_live(&self, (connection, seq, _): &(Connection, u64, Instant)) -> bool {
        self.connections
            .get(connection)
            .is_some_and(|c| c.seq == *seq)
    }

    /// Drops the connections whose latest call is older than the TTL (all
    /// their lines are); the lines dropped.
    fn drop_expired(&mut self, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some(call) = self.calls.front() {
            if !expired(call.2, now) {
                break;
            }
            let call = self.calls.pop_front().expect("a front");
            if self.is_live(&call) {
                dropped += self.take(call.0).map_or(0, |c| c.lines.len());
            }
        }
        dropped
    }

    /// Drops the connection whose latest call is the oldest; the lines
    /// dropped, `None` when there is none.
    fn drop_oldest(&mut self) -> Option<usize> {
        while let Some(call) = self.calls.pop_front() {
            if self.is_live(&call) {
                return self.take(call.0).map(|c| c.lines.len());
            }
        }
        None
    }

    /// Adds `connection`'s lines as its latest call, number `seq`.
    fn put(&mut self, connection: Connection, lines: ConnectionLines, now: Instant) {
        self.lines += lines.lines.len();
        self.calls.push_back((connection, lines.seq, now));
        self.connections.insert(connection, lines);
        // Stale calls (a connection's earlier ones) at most as many again
        // as the live ones: dropped in one pass now and then.
        if self.calls.len() > 2 * self.connections.len() + 16 {
            let connections = &self.connections;
            self.calls
                .retain(|(c, seq, _)| connections.get(c).is_some_and(|l| l.seq == *seq));
        }
    }
}

/// Adds a connection's `earlier` lines to those of its latest call
/// (`lines`); whether any within the TTL found no room. A connection's
/// latest line for a key stands (its latest keys-command call for the key
/// is the one sshd checked the key with). The shared record of connections
/// that are not known (`shared`) holds calls of many connections: there a
/// key served again keeps the weaker of its lines, so a later stronger line
/// never replaces one sshd may have applied to another connection.
fn add_earlier(
    lines: &mut HashMap<LineKey, (Served, Instant)>,
    earlier: ConnectionLines,
    shared: bool,
    now: Instant,
) -> bool {
    let mut left_out = false;
    for (key, line) in earlier.lines {
        if expired(line.1, now) {
            continue;
        }
        if let Some((latest, _)) = lines.get_mut(&key) {
            if shared {
                latest.verify_required &= line.0.verify_required;
            }
        } else if lines.len() < MAX_LINES_PER_CONNECTION {
            lines.insert(key, line);
        } else {
            left_out = true;
        }
    }
    left_out
}

impl ServedTable {
    /// Remembers `served` (one keys-command call's lines, at most
    /// [`MAX_LINES_PER_CONNECTION`] of them) for `login` and `connection`,
    /// with what that connection was served before, making room first.
    pub fn record(
        &mut self,
        login: &str,
        connection: Connection,
        mut served: impl Iterator<Item = (LineKey, Served)>,
        now: Instant,
    ) {
        let mut lines: HashMap<LineKey, (Served, Instant)> = HashMap::new();
        for (key, s) in served.by_ref().take(MAX_LINES_PER_CONNECTION) {
            // A key served twice in one call (registered to two people):
            // the weaker line, so that it never lends a PIN.
            lines
                .entry(key)
                .and_modify(|(had, _)| had.verify_required &= s.verify_required)
                .or_insert((s, now));
        }
        if lines.is_empty() {
            return;
        }
        // Lines past the connection's share are not remembered.
        let mut lost_early = served.next().is_some();
        if let Some(serves) = self.logins.get_mut(login) {
            self.lines -= serves.drop_expired(now);
            if let Some(earlier) = serves.take(connection) {
                self.lines -= earlier.lines.len();
                lost_early |= add_earlier(&mut lines, earlier, connection.is_none(), now);
            }
        }
        if lost_early {
            self.lost_early.insert(login.to_owned(), now);
        }
        self.make_room(lines.len(), now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.lines += lines.len();
        let serves = self.logins.entry(login.to_owned()).or_default();
        serves.put(connection, ConnectionLines { lines, seq }, now);
    }

    /// Drops lines until `incoming` more fit in [`MAX_ENTRIES`]: expired
    /// ones first, then the oldest connection of the login holding the most.
    fn make_room(&mut self, incoming: usize, now: Instant) {
        if self.lines + incoming <= MAX_ENTRIES {
            return;
        }
        for serves in self.logins.values_mut() {
            self.lines -= serves.drop_expired(now);
        }
        self.lost_early.retain(|_, at| !expired(*at, now));
        while self.lines + incoming > MAX_ENTRIES {
            let biggest = self.logins.iter_mut().max_by_key(|(_, s)| s.lines);
            let Some((login, serves)) = biggest else {
                break;
            };
            let Some(dropped) = serves.drop_oldest() else {
                break;
            };
            self.lines -= dropped;
            self.lost_early.insert(login.clone(), now);
        }
        self.logins.retain(|_, s| !s.connections.is_empty());
    }

    /// The line served for `login` and `key` within the TTL: to
    /// `connection` when it is known, else the weakest served to any, and
    /// without `verify-required` while the login may have lost a weaker
    /// one early (see the module's doc and `ServedKeys::served`).
    pub fn served(
        &self,
        login: &str,
        (key_type, blob): (&str, &str),
        connection: Connection,
        now: Instant,
    ) -> Option<Served> {
        let serves = self.logins.get(login)?;
        let key = (key_type.to_owned(), blob.to_owned());
        let fresh = |c: &ConnectionLines| {
            c.lines
                .get(&key)
                .filter(|(_, at)| !expired(*at, now))
                .map(|(s, at)| (s.clone(), *at))
        };
        if connection.is_some() {
            let c = serves.connections.get(&connection)?;
            return fresh(c).map(|(served, _)| served);
        }
        let lost_early = self
            .lost_early
            .get(login)
            .is_some_and(|at| !expired(*at, now));
        let (mut weakest, _) = serves
            .connections
            .values()
            .filter_map(fresh)
            .min_by_key(|(served, at)| (served.verify_required, std::cmp::Reverse(*at)))?;
        weakest.verify_required &= !lost_early;
        Some(weakest)
    }

    /// Lines held, all logins together.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        debug_assert_eq!(
            self.lines,
            self.logins.values().map(|s| s.lines).sum::<usize>()
        );
        self.lines
    }
}
