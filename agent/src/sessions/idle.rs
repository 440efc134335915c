//! Teleport's `client_idle_timeout`: an SSH session whose person's roles
//! set one when it started (the smallest, `AdjustClientIdleTimeout`) ends
//! when its terminal has had neither input nor output for that long
//! (lib/srv/monitor.go `Monitor.start`: "Client exceeded idle timeout of
//! ..."; its `trackingChannel` counts reads and writes alike). A session
//! without a pseudo-terminal is not timed here (see `terminal`).
//!
//! The terminal's access and modification times say when input was last
//! read and output last written, but only to the 8-second step Linux keeps
//! each in, and on the wall clock. So the agent notes, on its own monotonic
//! clock, when it saw the later of them change, and a session counts as
//! idle for the time since then less one step: never more than it really
//! was (a wall clock set forward ends nothing), at most a step and a check
//! later than Teleport would.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use super::session::Session;
use crate::policy::ServiceClass;

/// Linux updates a terminal's access time (input) and modification time
/// (output) only when it moves to another 8-second step (`tty_update_time`).
pub const TTY_TIME_STEP: Duration = Duration::from_secs(8);

/// Per timed session: the terminal's last activity time seen, and when (on
/// the monotonic clock) it was first seen to be that.
pub type ActivitySeen = HashMap<String, (SystemTime, Instant)>;

/// The sessions to end for idleness, with why: SSH sessions not ending
/// already nor in `ending` whose terms set an idle timeout and whose
/// terminal's last activity (`last_activity`: input or output) has not
/// changed for the timeout plus one step, as `seen` (kept between checks)
/// tells.
pub fn idle_ends(
    sessions: &[Session],
    ending: &[(String, String)],
    (now, seen): (Instant, &mut ActivitySeen),
    mut last_activity: impl FnMut(&Session) -> Option<SystemTime>,
) -> Vec<(String, String)> {
    seen.retain(|id, _| sessions.iter().any(|s| s.id == *id));
    let mut ends = Vec::new();
    for s in sessions {
        let timed = s.class == ServiceClass::Ssh
            && s.ending.is_none()
            && !ending.iter().any(|(id, _)| *id == s.id);
        let Some(timeout) = s.terms.and_then(|t| t.idle_timeout).filter(|_| timed) else {
            continue;
        };
        let Some(active) = last_activity(s) else {
            continue;
        };
        let entry = seen.entry(s.id.clone()).or_insert((active, now));
        if entry.0 != active {
            *entry = (active, now);
        }
        let idle = now
            .saturating_duration_since(entry.1)
            .saturating_sub(TTY_TIME_STEP);
        if idle >= timeout {
            ends.push((s.id.clone(), reason(idle, timeout)));
        }
    }
    ends
}

fn reason(idle: Duration, timeout: Duration) -> String {
    format!(
        "idle: no terminal input or output for at least {}s, past the client_idle_timeout of {}s (the cluster's and the roles' held when the session started)",
        idle.as_secs(),
        timeout.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SessionTerms;
    use crate::sessions::registry::tests::session;

    fn timed(id: &str, timeout: Option<u64>) -> Session {
        let mut s = session(7, 7, "jerry");
        s.id = id.into();
        s.terms = Some(SessionTerms {
            strict: false,
            ends_at: None,
            idle_timeout: timeout.map(Duration::from_secs),
        });
        s
    }

    #[test]
    fn a_timed_session_ends_once_its_activity_has_not_moved_for_the_timeout_and_a_step() {
        let t0 = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let s = [timed("a", Some(60))];
        let mut seen = ActivitySeen::new();
        let mut check = |after: u64, active: SystemTime| {
            idle_ends(
                &s,
                &[],
                (t0 + Duration::from_secs(after), &mut seen),
                |_| Some(active),
            )
        };
        // First seen at 0: idle counts from there, less a step.
        assert!(check(0, wall).is_empty());
        assert!(check(67, wall).is_empty());
        // Activity seen at 60 (its time moved): counted afresh.
        let typed = wall + Duration::from_secs(60);
        assert!(check(60, typed).is_empty());
        assert!(check(60 + 67, typed).is_empty());
        let ended = check(60 + 68, typed);
        assert_eq!(ended.len(), 1);
        assert!(
            ended[0]
                .1
                .starts_with("idle: no terminal input or output for at least 60s"),
            "{ended:?}"
        );
    }

    #[test]
    fn only_timed_ssh_sessions_with_a_terminal_are_judged() {
        let t0 = Instant::now();
        let long_ago = Some(SystemTime::UNIX_EPOCH);
        let late = t0 + Duration::from_secs(10_000);
        let mut sudo = timed("s", Some(1));
        sudo.class = ServiceClass::Admin;
        let untimed = [timed("b", None), session(8, 8, "tom"), sudo];
        let mut seen = ActivitySeen::new();
        for s in &untimed {
            seen.insert(s.id.clone(), (SystemTime::UNIX_EPOCH, t0));
        }
        assert!(idle_ends(&untimed, &[], (late, &mut seen), |_| long_ago).is_empty());
        let s = [timed("a", Some(1))];
        let mut seen = ActivitySeen::from([("a".to_owned(), (SystemTime::UNIX_EPOCH, t0))]);
        assert!(
            idle_ends(&s, &[], (late, &mut seen), |_| None).is_empty(),
            "no terminal"
        );
        let ending = [("a".to_owned(), "locked".to_owned())];
        assert!(idle_ends(&s, &ending, (late, &mut seen), |_| long_ago).is_empty());
    }
}
