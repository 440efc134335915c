//! The live sessions the agent tracks, keyed by the process that opened
//! them (pid and start time, from SO_PEERCRED and /proc).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
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
    /// Where the list is kept across agent restarts, once attached.
    file: OnceLock<PathBuf>,
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
            file: OnceLock::new(),
        }
    }

    /// Takes over the sessions a previous agent saved at `path` (those whose
    /// process still runs) and keeps the list there from now on. `Err`
    /// says why the saved list was not used; the file is still written.
    pub fn attach_file(&self, path: &Path) -> Result<usize, String> {
        let mut list = self.lock();
        let loaded = super::persist::load(path);
        let _ = self.file.set(path.to_path_buf());
        let (restored, next) = match loaded {
            Ok(Some(found)) => found,
            // Nothing to take over; the file appears with the first session
            // (the socket's directory may not exist yet).
            Ok(None) => return Ok(0),
            Err(e) => {
                self.save(&list);
                return Err(e);
            }
        };
        let alive = self.alive;
        for s in restored.into_iter().filter(|s| alive(s.leader)) {
            if !list.iter().any(|o| o.id == s.id) {
                list.push(s);
            }
        }
        self.next.fetch_max(next, Ordering::Relaxed);
        let n = list.len();
        self.save(&list);
        Ok(n)
    }

    /// Writes the list, when a file is attached; a failure is reported and
    /// the list in memory stays authoritative.
    fn save(&self, list: &[Session]) {
        if let Some(path) = self.file.get() {
            if let Err(e) = super::persist::save(path, list, self.next.load(Ordering::Relaxed)) {
                eprintln!(
                    "mfa-agent: cannot save the session list to {}: {e}",
                    path.display()
                );
            }
        }
    }

    /// Registers a session and returns its id. A session of the same
    /// process, service and account is replaced (a re-opened session).
    pub fn open(&self, mut s: Session) -> Result<String, String> {
        let mut list = self.lock();
        list.retain(|o| {
            !(o.leader == s.leader && o.service == s.service && o.account == s.account)
        });
        if list.len() >= MAX_SESSIONS {
            // (Usually pruned, with an audit event, by the periodic check.)
            let alive = self.alive;
            list.retain(|o| alive(o.leader));
            if list.len() >= MAX_SESSIONS {
                return Err(format!("the agent already tracks {MAX_SESSIONS} sessions"));
            }
        }
        s.id = format!(
            "{}-{}",
            s.leader.pid,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let id = s.id.clone();
        list.push(s);
        self.save(&list);
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
        if !gone.is_empty() {
            self.save(&list);
        }
        gone
    }

    /// Removes one session by id.
    pub fn remove(&self, id: &str) -> Option<Session> {
        let mut list = self.lock();
        let i = list.iter().position(|s| s.id == id)?;
        let s = list.remove(i);
        self.save(&list);
        Some(s)
    }

    /// Drops the sessions whose process is gone; returns them.
    pub fn prune(&self) -> Vec<Session> {
        let mut list = self.lock();
        let alive = self.alive;
        let (kept, gone): (Vec<Session>, Vec<Session>) =
            list.drain(..).partition(|s| alive(s.leader));
        *list = kept;
        if !gone.is_empty() {
            self.save(&list);
        }
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
        if !marked.is_empty() {
            self.save(&list);
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

    #[test]
    fn a_restarted_agent_takes_over_the_live_sessions() {
        let d = std::env::temp_dir().join(format!(
            "pam-mfa-registry-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        let path = d.join("agent.sessions.json");
        let first = SessionRegistry::with_liveness(fake_alive);
        first.attach_file(&path).unwrap();
        let kept = first.open(session(600, 600, "jerry")).unwrap();
        first.open(session(601, 1, "gone")).unwrap(); // its process is not running
        let ending = first.open(session(602, 602, "tom")).unwrap();
        first.mark_ending(&[(ending.clone(), "locked".into())]);
        let second = SessionRegistry::with_liveness(fake_alive);
        assert_eq!(second.attach_file(&path).unwrap(), 2);
        let back = second.list();
        let ids: Vec<&str> = back.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [kept.as_str(), ending.as_str()]);
        assert!(back.iter().all(|s| s.ending.is_none()), "judged afresh");
        // Ids keep counting up; closing is written through.
        let newer = second.open(session(603, 603, "ann")).unwrap();
        assert!(!ids.contains(&newer.as_str()));
        second.close(
            ProcId {
                pid: 600,
                start: 600,
            },
            "sshd",
            "jerry",
        );
        let third = SessionRegistry::with_liveness(fake_alive);
        assert_eq!(third.attach_file(&path).unwrap(), 2);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
