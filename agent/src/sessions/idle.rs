//! Teleport's `client_idle_timeout`: an SSH session whose person's roles
//! set one when it started (the smallest, `AdjustClientIdleTimeout`) ends
//! when its terminal has had no input for that long (lib/srv/monitor.go:
//! "client is idle for ..., exceeded idle timeout of ..."). A session
//! without a pseudo-terminal is not timed here (see `terminal`).
//!
//! The terminal's access time says when input was last read, but only to
//! the 8-second step Linux keeps it in, and on the wall clock. So the agent
//! notes, on its own monotonic clock, when it saw that time change, and a
//! session counts as idle for the time since then less one step: never
//! more than it really was (a wall clock set forward ends nothing), at most
//! a step and a check later than Teleport would.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use super::session::Session;
use crate::policy::ServiceClass;

/// Linux updates a terminal's access time only when it moves to another
/// 8-second step (`tty_update_time`).
pub const TTY_TIME_STEP: Duration = Duration::from_secs(8);

/// Per timed session: the terminal's last access time seen, and when (on
/// the monotonic clock) it was first seen to be that.
pub type InputSeen = HashMap<String, (SystemTime, Instant)>;

/// The sessions to end for idleness, with why: SSH sessions not ending
/// already nor in `ending` whose terms set an idle timeout and whose
/// terminal's input (`last_input`) has not changed for the timeout plus
/// one step, as `seen` (kept between checks) tells.
pub fn idle_ends(
    sessions: &[Session],
    ending: &[(String, String)],
    (now, seen): (Instant, &mut InputSeen),
    mut last_input: impl FnMut(&Session) -> Option<SystemTime>,
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
        let Some(input) = last_input(s) else {
            continue;
        };
        let entry = seen.entry(s.id.clone()).or_insert((input, now));
        if entry.0 != input {
            *entry = (input, now);
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
        "idle: no input for at least {}s, past the client_idle_timeout of {}s (the cluster's and the roles' held when the session started)",
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
    fn a_timed_session_ends_once_its_input_has_not_moved_for_the_timeout_and_a_step() {
        let t0 = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let s = [timed("a", Some(60))];
        let mut seen = InputSeen::new();
        let mut check = |after: u64, input: SystemTime| {
            idle_ends(
                &s,
                &[],
                (t0 + Duration::from_secs(after), &mut seen),
                |_| Some(input),
            )
        };
        // First seen at 0: idle counts from there, less a step.
        assert!(check(0, wall).is_empty());
        assert!(check(67, wall).is_empty());
        // Input seen at 60 (its access time moved): counted afresh.
        let typed = wall + Duration::from_secs(60);
        assert!(check(60, typed).is_empty());
        assert!(check(60 + 67, typed).is_empty());
        let ended = check(60 + 68, typed);
        assert_eq!(ended.len(), 1);
        assert!(
            ended[0].1.starts_with("idle: no input for at least 60s"),
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
        let mut seen = InputSeen::new();
        for s in &untimed {
            seen.insert(s.id.clone(), (SystemTime::UNIX_EPOCH, t0));
        }
        assert!(idle_ends(&untimed, &[], (late, &mut seen), |_| long_ago).is_empty());
        let s = [timed("a", Some(1))];
        let mut seen = InputSeen::from([("a".to_owned(), (SystemTime::UNIX_EPOCH, t0))]);
        assert!(
            idle_ends(&s, &[], (late, &mut seen), |_| None).is_empty(),
            "no terminal"
        );
        let ending = [("a".to_owned(), "locked".to_owned())];
        assert!(idle_ends(&s, &ending, (late, &mut seen), |_| long_ago).is_empty());
    }
}
