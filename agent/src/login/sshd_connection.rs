//! How long ago sshd's per-connection process began: the earliest moment
//! sshd could have read the user's authorized_keys files or checked a
//! certificate for this login.
//!
//! sshd forks one process per connection (the monitor; `sshd-session`
//! from OpenSSH 9.8) and makes it a session leader (`setsid`). It reads
//! the key files and checks certificates itself, runs `account` and opens
//! the session; keyboard-interactive `auth` runs in a child of it. So the
//! PAM peer's session leader, when it is the peer or the peer's parent, is
//! that process. Otherwise (sshd -d or -i, which make no session) the
//! earlier of the peer and its parent is taken: never later than the
//! monitor, which is one of them.
//!
//! The age is read from the boot-time clock (the kernel's process start
//! times count from boot), so a wall clock stepped since does not move it.

use std::time::{Duration, SystemTime};

use super::grants::{proc_stat, session_id, start_time};

/// What is known of the sshd connection a PAM peer is part of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SshdConnection {
    /// Which connection (to find what pam-mfa served to it).
    pub id: Option<ConnectionId>,
    /// How long ago it began.
    pub age: Option<Duration>,
}

impl SshdConnection {
    /// The connection of PAM peer `peer` (sshd's monitor or its child),
    /// from one or two reads of /proc/PID/stat (the peer's, and its
    /// parent's when that is the session leader or there is none).
    pub fn of_pam_peer(peer: i32) -> SshdConnection {
        let Some(own) = proc_stat(peer) else {
            return SshdConnection::default();
        };
        let parent = || proc_stat(own.ppid);
        let leader = match connection_processes(peer, own.ppid, own.sid).as_slice() {
            [only] if *only == peer => Some(own),
            [_] => parent(),
            _ => None,
        };
        match leader {
            Some(l) => SshdConnection {
                id: Some(ConnectionId {
                    pid: own.sid,
                    started: l.start,
                }),
                age: age_since_start(l.start),
            },
            None if own.sid == peer || own.sid == own.ppid => SshdConnection::default(),
            // No session of sshd's own: the earlier of the peer and its parent.
            None => SshdConnection {
                id: None,
                age: parent().and_then(|p| age_since_start(p.start.min(own.start))),
            },
        }
    }
}

/// How long ago a process that started `started` clock ticks after boot
/// began; `None` when that cannot be read.
fn age_since_start(started: u64) -> Option<Duration> {
    let boot = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let since_boot = Duration::new(
        u64::try_from(boot.tv_sec).ok()?,
        u32::try_from(boot.tv_nsec).ok()?,
    );
    age_of(started, rustix::param::clock_ticks_per_second(), since_boot)
}

/// One sshd connection: its per-connection process (the session leader),
/// by pid and start time, so a reused pid names another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionId {
    pid: i32,
    started: u64,
}

/// The sshd connection that ran an AuthorizedKeysCommand, from the peer
/// that asked for the keys (the command, or a program it ran): sshd runs
/// the command in its own session, without a new one.
pub fn connection_of_keys_command(peer: i32) -> Option<ConnectionId> {
    connection_id(session_id(peer)?)
}

impl ConnectionId {
    #[cfg(test)]
    pub fn new(pid: i32, started: u64) -> ConnectionId {
        ConnectionId { pid, started }
    }
}

fn connection_id(sid: i32) -> Option<ConnectionId> {
    Some(ConnectionId {
        pid: sid,
        started: start_time(sid)?,
    })
}

/// The processes whose earliest start is the connection's: the session
/// leader `sid` when it is the peer or its parent, else both of those.
fn connection_processes(peer: i32, parent: i32, sid: i32) -> Vec<i32> {
    if sid == peer || sid == parent {
        vec![sid]
    } else {
        vec![peer, parent]
    }
}

/// The age of a process that started `ticks` clock ticks (`per_second` a
/// second) after boot, `since_boot` after boot. The kernel rounds the start
/// down to a tick: the age is never less than the true one.
fn age_of(ticks: u64, per_second: u64, since_boot: Duration) -> Option<Duration> {
    if per_second == 0 {
        return None;
    }
    let started = Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second);
    Some(since_boot.saturating_sub(started))
}

/// The wall-clock time at or before which the connection began, as a
/// file's change time would show it: `age` before `now`, less what the
/// wall clock may have been slewed by since (NTP slews at most 500 ppm;
/// twice that is allowed).
pub fn began_by_wall_clock(age: Duration, now: SystemTime) -> SystemTime {
    now.checked_sub(age + age / 1000)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_leader_is_the_connection_when_it_is_the_peer_or_its_parent() {
        // account/open_session: the monitor itself.
        assert_eq!(connection_processes(200, 100, 200), vec![200]);
        // keyboard-interactive auth: the monitor's child.
        assert_eq!(connection_processes(300, 200, 200), vec![200]);
        // No session of sshd's own (sshd -d): the earlier of both.
        assert_eq!(connection_processes(300, 200, 7), vec![300, 200]);
    }

    #[test]
    fn ages_count_from_boot_and_round_up() {
        let hz = 100;
        // Started 1.23 s after boot, now 10 s after boot.
        assert_eq!(
            age_of(123, hz, Duration::from_secs(10)),
            Some(Duration::from_millis(8770))
        );
        // A start the clock has not reached yet (cannot be): no age.
        assert_eq!(
            age_of(2000, hz, Duration::from_secs(10)),
            Some(Duration::ZERO)
        );
        assert_eq!(age_of(1, 0, Duration::from_secs(10)), None);
    }

    #[test]
    fn the_wall_clock_start_allows_for_slewing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            began_by_wall_clock(Duration::from_secs(100), now),
            now - Duration::from_millis(100_100)
        );
        // Older than the clock's epoch: still no later than it began.
        assert!(
            began_by_wall_clock(Duration::from_secs(10_000_000), now) <= SystemTime::UNIX_EPOCH
        );
    }

    /// This test process and a child of it, as a PAM peer would be: the
    /// same connection only when the session leader is one of them.
    #[test]
    fn a_connection_is_named_by_its_session_leader() {
        let me = std::process::id() as i32;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let kid = child.id() as i32;
        // The child's session is this process's: named alike from both.
        assert_eq!(
            connection_of_keys_command(kid),
            connection_of_keys_command(me)
        );
        let leader = session_id(me).unwrap();
        let as_peer = SshdConnection::of_pam_peer(kid).id;
        if leader == me {
            assert_eq!(as_peer, connection_of_keys_command(kid));
        } else {
            assert_eq!(as_peer, None, "the session leader is neither");
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(SshdConnection::of_pam_peer(-5), SshdConnection::default());
    }

    #[test]
    fn this_process_has_an_age() {
        let me = std::process::id() as i32;
        let age = SshdConnection::of_pam_peer(me).age.expect("an age");
        // This test process (or its parent) started before now.
        assert!(age < Duration::from_secs(365 * 86_400), "{age:?}");
    }
}
