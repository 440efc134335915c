//! Teleport's `client_idle_timeout`: a session whose person's roles set
//! one when it started (the smallest, `AdjustClientIdleTimeout`) ends when
//! its terminal has had no input for that long (lib/srv/monitor.go: "client
//! is idle for ..., exceeded idle timeout of ..."). A session without a
//! terminal is not timed here (see `terminal`).

use std::time::{Duration, SystemTime};

use super::procs::ProcId;
use super::session::Session;

/// The sessions to end for idleness, with why: those not ending already
/// nor in `ending`, whose terms set an idle timeout, and whose terminal's
/// last input (`last_input` of the session's leader) is that long ago.
pub fn idle_ends(
    sessions: &[Session],
    ending: &[(String, String)],
    now: SystemTime,
    mut last_input: impl FnMut(ProcId) -> Option<SystemTime>,
) -> Vec<(String, String)> {
    sessions
        .iter()
        .filter(|s| s.ending.is_none() && !ending.iter().any(|(id, _)| *id == s.id))
        .filter_map(|s| {
            let timeout = s.terms?.idle_timeout?;
            let idle = now
                .duration_since(last_input(s.leader)?)
                .unwrap_or_default();
            (idle >= timeout).then(|| (s.id.clone(), reason(idle, timeout)))
        })
        .collect()
}

fn reason(idle: Duration, timeout: Duration) -> String {
    format!(
        "idle: no input for {}s, past the client_idle_timeout of {}s of the roles held when the session started",
        idle.as_secs(),
        timeout.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SessionTerms;
    use crate::sessions::registry::tests::session;

    fn with_timeout(id: &str, timeout: Option<u64>) -> Session {
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
    fn only_timed_sessions_idle_past_their_timeout_end() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let input = |ago: u64| move |_| Some(now - Duration::from_secs(ago));
        let s = [with_timeout("a", Some(60))];
        assert!(idle_ends(&s, &[], now, input(59)).is_empty());
        let ended = idle_ends(&s, &[], now, input(60));
        assert_eq!(ended.len(), 1);
        assert!(
            ended[0].1.starts_with("idle: no input for 60s"),
            "{ended:?}"
        );
        // No timeout, no terms, no terminal, or ending already: not timed.
        let untimed = [with_timeout("b", None), session(8, 8, "tom")];
        assert!(idle_ends(&untimed, &[], now, input(9_999)).is_empty());
        assert!(idle_ends(&s, &[], now, |_| None).is_empty());
        let ending = [("a".to_owned(), "locked".to_owned())];
        assert!(idle_ends(&s, &ending, now, input(9_999)).is_empty());
    }
}
