//! What a tap in `auth` proves to the `account` hook of the same login.
//!
//! sshd runs keyboard-interactive PAM authentication in a child process and
//! the account phase in its parent (the monitor); sudo runs both in one
//! process. A grant is recorded for the authenticating process and its
//! parent, from SO_PEERCRED and /proc, never from anything the module says,
//! and is consumed by the first account check of the same service, login
//! and source from one of those two processes. A consumed grant is kept
//! (marked taken) until it expires, so the session that login opens can
//! record what it proved.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long a grant waits for its account check.
pub const GRANT_TTL: Duration = Duration::from_secs(300);
const MAX_GRANTS: usize = 10_000;

#[derive(Debug, Clone)]
struct Grant {
    service: String,
    login: String,
    rhost: Option<String>,
    /// The authenticating process and its parent, each with its start time.
    pids: [(i32, Option<u64>); 2],
    at: SystemTime,
    evidence: String,
    device: Option<String>,
    user: String,
    /// Taken by the account check: never counts again there, but still says
    /// what the login proved when its session opens.
    consumed: bool,
}

/// What a consumed grant carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub evidence: String,
    pub device: Option<String>,
    pub user: String,
}

#[derive(Default)]
pub struct Grants {
    list: Mutex<Vec<Grant>>,
}

/// The fields of /proc/PID/stat after the command name (which may itself
/// contain spaces and parentheses): index 0 is the state, 1 the parent.
/// What a login's bookkeeping reads of /proc/PID/stat, in one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// The parent.
    pub ppid: i32,
    /// The session it is in (its session leader's pid).
    pub sid: i32,
    /// When it started (clock ticks since boot): with the pid, it names
    /// one process, even after the pid is reused.
    pub start: u64,
}

/// `pid`'s [`ProcStat`].
pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the name: state, ppid, pgrp, session, ..., starttime (the 20th).
    let mut fields = stat[stat.rfind(')')? + 1..].split_ascii_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let sid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(15)?.parse().ok()?;
    Some(ProcStat { ppid, sid, start })
}

/// The parent of `pid`.
pub fn parent_pid(pid: i32) -> Option<i32> {
    proc_stat(pid).map(|s| s.ppid)
}

/// The session `pid` is in (its session leader's pid).
pub fn session_id(pid: i32) -> Option<i32> {
    proc_stat(pid).map(|s| s.sid)
}

/// When `pid` started (clock ticks since boot).
pub fn start_time(pid: i32) -> Option<u64> {
    proc_stat(pid).map(|s| s.start)
}

impl Grants {
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        service: &str,
        login: &str,
        rhost: Option<&str>,
        pid: i32,
        user: &str,
        evidence: &str,
        device: Option<&str>,
        now: SystemTime,
    ) {
        let ppid = parent_pid(pid).unwrap_or(pid);
        let pids = [(pid, start_time(pid)), (ppid, start_time(ppid))];
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|g| {
            now.duration_since(g.at)
                .map(|a| a < GRANT_TTL)
                .unwrap_or(false)
        });
        if list.len() >= MAX_GRANTS {
            list.remove(0);
        }
        list.push(Grant {
            service: service.into(),
            login: login.into(),
            rhost: rhost.map(Into::into),
            pids,
            at: now,
            evidence: evidence.into(),
            device: device.map(Into::into),
            user: user.into(),
            consumed: false,
        });
    }

    /// Takes the grant for this account check, if there is one.
    pub fn take(
        &self,
        service: &str,
        login: &str,
        rhost: Option<&str>,
        pid: i32,
        now: SystemTime,
    ) -> Option<Granted> {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        let g = list
            .iter_mut()
            .find(|g| !g.consumed && g.matches(service, login, rhost, pid, now))?;
        g.consumed = true;
        Some(g.granted())
    }

    /// What the tap of this login by cluster user `user` proved, taken or
    /// not, for the session it opens (`open_session` comes from the process
    /// that ran `account`).
    #[allow(clippy::too_many_arguments)]
    pub fn evidence_for(
        &self,
        service: &str,
        login: &str,
        user: &str,
        rhost: Option<&str>,
        pid: i32,
        now: SystemTime,
    ) -> Option<Granted> {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .rev()
            .find(|g| g.user == user && g.matches(service, login, rhost, pid, now))
            .map(Grant::granted)
    }
}

impl Grant {
    fn matches(
        &self,
        service: &str,
        login: &str,
        rhost: Option<&str>,
        pid: i32,
        now: SystemTime,
    ) -> bool {
        self.service == service
            && self.login == login
            && self.rhost.as_deref() == rhost
            && self
                .pids
                .iter()
                .any(|(p, started)| *p == pid && started.is_some() && *started == start_time(pid))
            && now
                .duration_since(self.at)
                .map(|a| a < GRANT_TTL)
                .unwrap_or(false)
    }

    fn granted(&self) -> Granted {
        Granted {
            evidence: self.evidence.clone(),
            device: self.device.clone(),
            user: self.user.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_of_this_process() {
        let me = std::process::id() as i32;
        assert_eq!(
            parent_pid(me),
            Some(
                rustix::process::getppid()
                    .map(|p| p.as_raw_nonzero().get())
                    .unwrap_or(0)
            )
        );
        assert_eq!(parent_pid(-5), None);
    }

    #[test]
    fn start_time_names_one_process() {
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some());
        assert_eq!(start_time(me), start_time(me));
        assert_eq!(start_time(-5), None);
    }

    #[test]
    fn single_use_and_bound() {
        let g = Grants::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let me = std::process::id() as i32;
        let parent = parent_pid(me).unwrap();
        g.record(
            "sshd",
            "jerry",
            Some("10.0.0.1"),
            me,
            "jerry",
            "tap_ssh_sk_touch",
            Some("d1"),
            t0,
        );
        assert!(
            g.take("sshd", "jerry", Some("10.0.0.2"), me, t0).is_none(),
            "other source"
        );
        assert!(
            g.take("sudo", "jerry", Some("10.0.0.1"), me, t0).is_none(),
            "other service"
        );
        assert!(
            g.take("sshd", "jerry", Some("10.0.0.1"), 1, t0).is_none(),
            "unrelated process"
        );
        let got = g
            .take("sshd", "jerry", Some("10.0.0.1"), parent, t0)
            .unwrap();
        assert_eq!(got.evidence, "tap_ssh_sk_touch");
        assert!(
            g.take("sshd", "jerry", Some("10.0.0.1"), parent, t0)
                .is_none(),
            "single use"
        );
        // The session it opens still learns what was proved.
        assert_eq!(
            g.evidence_for("sshd", "jerry", "jerry", Some("10.0.0.1"), parent, t0)
                .map(|g| g.evidence),
            Some("tap_ssh_sk_touch".into())
        );
        // A newer grant of the same login for another cluster user hides
        // neither this user's evidence nor lends its own.
        g.record(
            "sshd",
            "jerry",
            Some("10.0.0.1"),
            me,
            "someone-else",
            "tap_webauthn",
            None,
            t0,
        );
        assert_eq!(
            g.evidence_for("sshd", "jerry", "jerry", Some("10.0.0.1"), parent, t0)
                .map(|g| g.evidence),
            Some("tap_ssh_sk_touch".into())
        );
        assert!(g
            .evidence_for("sshd", "jerry", "jerry", Some("10.0.0.2"), parent, t0)
            .is_none());
        g.record("sshd", "jerry", None, me, "jerry", "e", None, t0);
        assert!(
            g.take("sshd", "jerry", None, me, t0 + GRANT_TTL).is_none(),
            "expired"
        );
    }
}
