//! The live sessions the agent tracks, keyed by the process that opened
//! them (pid and start time, from SO_PEERCRED and /proc).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use pam_mfa_protocol::SessionInfo;

use super::procs::{is_alive, ProcId};
use crate::policy::{ServiceClass, User};

/// Sessions over this many are refused (a runaway opener cannot grow the
/// agent without bound).
pub const MAX_SESSIONS: usize = 10_000;

/// One live login session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// The process that opened the session (for sshd its privileged monitor).
    pub leader: ProcId,
    /// The PAM user (the account logged in to).
    pub account: String,
    /// The login the policy is asked about (for sudo/su the invoking user).
    pub login: String,
    pub class: ServiceClass,
    /// The cluster user the session was decided for, when known.
    pub user: Option<String>,
    /// A verified Teleport certificate's identity (its roles and traits
    /// decide, as at login).
    pub identity: Option<User>,
    /// The MFA device used, for `mfa_device` lock targets.
    pub device: Option<String>,
    pub evidence: String,
    pub service: String,
    pub tty: Option<String>,
    pub rhost: Option<String>,
    pub opened: SystemTime,
    /// Set once the agent has started to end it: why.
    pub ending: Option<String>,
}

impl Session {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            pid: self.leader.pid.max(0) as u32,
            login: self.account.clone(),
            user: self.user.clone(),
            service: self.service.clone(),
            tty: self.tty.clone(),
            rhost: self.rhost.clone(),
            evidence: self.evidence.clone(),
            opened: rfc3339(self.opened),
            class: self.class.name().into(),
            device: self.device.clone(),
            ending: self.ending.clone(),
        }
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// How a registry tells whether a session's process still runs; tests
/// inject their own.
pub type Liveness = fn(ProcId) -> bool;

pub struct SessionRegistry {
    list: Mutex<Vec<Session>>,
    next: AtomicU64,
    alive: Liveness,
}

impl Default for SessionRegistry {
    fn default() -> Self {
        SessionRegistry::with_liveness(is_alive)
    }
}

impl SessionRegistry {
    pub fn with_liveness(alive: Liveness) -> SessionRegistry {
        SessionRegistry {
            list: Mutex::new(Vec::new()),
            next: AtomicU64::new(1),
            alive,
        }
    }

    /// Registers a session and returns its id. A session of the same
    /// process, service and account is replaced (a re-opened session).
    pub fn open(&self, mut s: Session) -> Result<String, String> {
        let mut list = self.lock();
        let alive = self.alive;
        list.retain(|o| alive(o.leader));
        list.retain(|o| {
            !(o.leader == s.leader && o.service == s.service && o.account == s.account)
        });
        if list.len() >= MAX_SESSIONS {
            return Err(format!("the agent already tracks {MAX_SESSIONS} sessions"));
        }
        s.id = format!(
            "{}-{}",
            s.leader.pid,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let id = s.id.clone();
        list.push(s);
        Ok(id)
    }

    /// Removes the sessions this process opened for this service and
    /// account; returns them.
    pub fn close(&self, leader: ProcId, service: &str, account: &str) -> Vec<Session> {
        let mut list = self.lock();
        let (gone, kept): (Vec<Session>, Vec<Session>) = list
            .drain(..)
            .partition(|s| s.leader == leader && s.service == service && s.account == account);
        *list = kept;
        gone
    }

    /// Removes one session by id.
    pub fn remove(&self, id: &str) -> Option<Session> {
        let mut list = self.lock();
        let i = list.iter().position(|s| s.id == id)?;
        Some(list.remove(i))
    }

    /// Drops the sessions whose process is gone; returns them.
    pub fn prune(&self) -> Vec<Session> {
        let mut list = self.lock();
        let alive = self.alive;
        let (kept, gone): (Vec<Session>, Vec<Session>) =
            list.drain(..).partition(|s| alive(s.leader));
        *list = kept;
        gone
    }

    /// The live sessions (pruned first), oldest first.
    pub fn list(&self) -> Vec<Session> {
        self.prune();
        self.lock().clone()
    }

    /// Marks the sessions with these ids as ending, with their reasons, and
    /// returns those that were not ending yet (each is ended once).
    pub fn mark_ending(&self, ends: &[(String, String)]) -> Vec<Session> {
        let mut list = self.lock();
        let mut marked = Vec::new();
        for s in list.iter_mut() {
            if s.ending.is_some() {
                continue;
            }
            if let Some((_, why)) = ends.iter().find(|(id, _)| *id == s.id) {
                s.ending = Some(why.clone());
                marked.push(s.clone());
            }
        }
        marked
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::AtomicI32;
    use std::time::Duration;

    /// Processes "alive" in these tests: pid == start, and the pid is not
    /// the one marked dead.
    static DEAD: AtomicI32 = AtomicI32::new(-1);

    fn fake_alive(p: ProcId) -> bool {
        p.start == p.pid as u64 && p.pid != DEAD.load(Ordering::Relaxed)
    }

    pub(crate) fn session(pid: i32, start: u64, account: &str) -> Session {
        Session {
            id: String::new(),
            leader: ProcId { pid, start },
            account: account.into(),
            login: account.into(),
            class: ServiceClass::Ssh,
            user: Some(account.into()),
            identity: None,
            device: None,
            evidence: "none needed".into(),
            service: "sshd".into(),
            tty: Some("ssh".into()),
            rhost: Some("10.0.0.1".into()),
            opened: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            ending: None,
        }
    }

    #[test]
    fn open_close_and_pid_reuse() {
        let r = SessionRegistry::with_liveness(fake_alive);
        let a = r.open(session(100, 100, "jerry")).unwrap();
        let b = r.open(session(200, 200, "tom")).unwrap();
        assert_ne!(a, b);
        assert_eq!(r.list().len(), 2);
        // The same pid with another start time is another process: it
        // cannot close jerry's session.
        assert!(r
            .close(ProcId { pid: 100, start: 7 }, "sshd", "jerry")
            .is_empty());
        assert!(r
            .close(
                ProcId {
                    pid: 100,
                    start: 100
                },
                "sudo",
                "jerry"
            )
            .is_empty());
        let closed = r.close(
            ProcId {
                pid: 100,
                start: 100,
            },
            "sshd",
            "jerry",
        );
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].id, a);
        let left: Vec<String> = r.list().into_iter().map(|s| s.id).collect();
        assert_eq!(left, vec![b]);
    }

    #[test]
    fn a_reused_pid_does_not_keep_a_session_alive() {
        let r = SessionRegistry::with_liveness(fake_alive);
        // Registered for pid 300 started at 300; /proc now shows pid 300
        // with another start time (fake_alive says no): pruned.
        r.open(session(300, 299, "jerry")).unwrap();
        r.open(session(301, 301, "jerry")).unwrap();
        let listed = r.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].leader.pid, 301);
    }

    #[test]
    fn gone_processes_are_pruned() {
        let r = SessionRegistry::with_liveness(fake_alive);
        r.open(session(400, 400, "jerry")).unwrap();
        r.open(session(401, 401, "tom")).unwrap();
        DEAD.store(400, Ordering::Relaxed);
        let gone = r.prune();
        DEAD.store(-1, Ordering::Relaxed);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].account, "jerry");
        assert_eq!(r.list().len(), 1);
    }

    #[test]
    fn reopen_replaces_and_ending_is_marked_once() {
        let r = SessionRegistry::with_liveness(fake_alive);
        r.open(session(500, 500, "jerry")).unwrap();
        let id = r.open(session(500, 500, "jerry")).unwrap();
        assert_eq!(r.list().len(), 1);
        let first = r.mark_ending(&[(id.clone(), "locked".into())]);
        assert_eq!(first.len(), 1);
        assert!(r.mark_ending(&[(id.clone(), "locked".into())]).is_empty());
        assert_eq!(r.list()[0].ending.as_deref(), Some("locked"));
        assert_eq!(r.list()[0].info().ending.as_deref(), Some("locked"));
        assert!(r.remove(&id).is_some());
        assert!(r.list().is_empty());
    }
}
