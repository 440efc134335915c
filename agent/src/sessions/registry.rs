//! The live sessions the agent tracks, keyed by the process that opened
//! them (pid and start time, from SO_PEERCRED and /proc).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::procs::{is_alive, ProcId};
use super::session::Session;

/// Sessions over this many are refused (a runaway opener cannot grow the
/// agent without bound).
pub const MAX_SESSIONS: usize = 10_000;
/// Live sessions of one cluster user (when the session showed one), so one
/// person cannot take the whole list.
pub const MAX_SESSIONS_PER_USER: usize = 512;
/// Live sessions of one invoking person (`Session::person`): an SSH key or
/// certificate, an account's SSH logins without a key, a sudo or su user.
/// Per person, not per account, so that one holder of a shared account
/// (`deploy`) cannot take every session of it from the others.
pub const MAX_SESSIONS_PER_PERSON: usize = 512;
/// Live sessions of all the keys and certificates of one account that
/// showed no cluster user (`Session::keys_account`): its holder may add
/// keys at will, and each is a person, so without it one account's keys
/// could fill [`MAX_SESSIONS`]. Four keys' worth, as the pending logins'
/// `ipc::budgets::PER_ACCOUNT_PENDING`.
pub const MAX_SESSIONS_PER_KEYS_ACCOUNT: usize = 4 * MAX_SESSIONS_PER_PERSON;
/// The journal is compacted once it holds this many more records than
/// there are live sessions (and at least this many).
const COMPACT_AFTER: usize = 256;

/// How a registry tells whether a session's process still runs; tests
/// inject their own.
pub type Liveness = fn(ProcId) -> bool;

pub struct SessionRegistry {
    list: Mutex<Vec<Session>>,
    next: AtomicU64,
    alive: Liveness,
    /// Where the list is kept across agent restarts, once attached.
    file: OnceLock<PathBuf>,
    /// Records appended to the file since it was last written whole.
    appended: AtomicUsize,
    /// When each timed session's terminal activity was last seen to change.
    pub(super) idle: Mutex<super::idle::ActivitySeen>,
    /// Rung for each session opened: the enforcer heeds its deadlines.
    pub bell: super::schedule::EnforcerBell,
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
            appended: AtomicUsize::new(0),
            idle: Mutex::new(Default::default()),
            bell: Default::default(),
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

    /// Writes the list whole (compaction), when a file is attached; a
    /// failure is reported and the list in memory stays authoritative.
    fn save(&self, list: &[Session]) {
        if let Some(path) = self.file.get() {
            match super::persist::save(path, list, self.next.load(Ordering::Relaxed)) {
                Ok(()) => self.appended.store(0, Ordering::Relaxed),
                Err(e) => eprintln!(
                    "mfa-agent: cannot save the session list to {}: {e}",
                    path.display()
                ),
            }
        }
    }

    /// Records a change with one append (`write` does it), or compacts the
    /// file when the journal has grown past the live list.
    fn journal(&self, list: &[Session], write: impl FnOnce(&Path) -> std::io::Result<()>) {
        let Some(path) = self.file.get() else { return };
        let appended = self.appended.fetch_add(1, Ordering::Relaxed) + 1;
        if appended > COMPACT_AFTER.max(list.len()) {
            return self.save(list);
        }
        match write(path) {
            Ok(()) => {}
            // Not written yet (no session so far, or removed): written whole.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.save(list),
            Err(e) => {
                eprintln!(
                    "mfa-agent: cannot record a session change in {}: {e}; writing it whole",
                    path.display()
                );
                self.save(list);
            }
        }
    }

    fn journal_closed(&self, list: &[Session], gone: &[Session]) {
        if !gone.is_empty() {
            self.journal(list, |p| {
                super::persist::append_close(p, gone.iter().map(|s| s.id.as_str()))
            });
        }
    }

    /// Registers a session and returns its id. A session of the same
    /// process, service and account is replaced (a re-opened session).
    /// Refused past [`MAX_SESSIONS`] in all, [`MAX_SESSIONS_PER_USER`] for
    /// one cluster user, [`MAX_SESSIONS_PER_PERSON`] for one invoking
    /// person, or [`MAX_SESSIONS_PER_KEYS_ACCOUNT`] for the keys of one
    /// account that showed no cluster user.
    pub fn open(&self, mut s: Session) -> Result<String, String> {
        let mut list = self.lock();
        let replaced: Vec<Session> = list
            .iter()
            .filter(|o| o.leader == s.leader && o.service == s.service && o.account == s.account)
            .cloned()
            .collect();
        list.retain(|o| !replaced.iter().any(|r| r.id == o.id));
        if list.len() >= MAX_SESSIONS || over_share(&list, &s) {
            // (Usually pruned, with an audit event, by the periodic check.)
            let alive = self.alive;
            list.retain(|o| alive(o.leader));
        }
        if list.len() >= MAX_SESSIONS {
            return Err(format!("the agent already tracks {MAX_SESSIONS} sessions"));
        }
        if let Some(why) = share_refusal(&list, &s) {
            return Err(why);
        }
        s.id = format!(
            "{}-{}",
            s.leader.pid,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let id = s.id.clone();
        self.journal_closed(&list, &replaced);
        list.push(s);
        if let Some(added) = list.last() {
            self.journal(&list, |p| super::persist::append_open(p, added));
        }
        drop(list);
        // Its certificate may end before the enforcer's next look.
        self.bell.ring();
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
        self.journal_closed(&list, &gone);
        gone
    }

    /// Removes one session by id.
    pub fn remove(&self, id: &str) -> Option<Session> {
        let mut list = self.lock();
        let i = list.iter().position(|s| s.id == id)?;
        let s = list.remove(i);
        self.journal_closed(&list, std::slice::from_ref(&s));
        Some(s)
    }

    /// Drops the sessions whose process is gone; returns them.
    pub fn prune(&self) -> Vec<Session> {
        let mut list = self.lock();
        let alive = self.alive;
        let (kept, gone): (Vec<Session>, Vec<Session>) =
            list.drain(..).partition(|s| alive(s.leader));
        *list = kept;
        self.journal_closed(&list, &gone);
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
        // Not recorded: a restarted agent judges every session afresh.
        marked
    }

    /// Records in the file since it was last written whole (tests).
    pub fn appended_since_compaction(&self) -> usize {
        self.appended.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Session>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn over_share(list: &[Session], s: &Session) -> bool {
    share_refusal(list, s).is_some()
}

/// Why `s` would take more than its cluster user's, its invoking person's
/// or its account's keys' share of the list.
fn share_refusal(list: &[Session], s: &Session) -> Option<String> {
    if let Some(user) = &s.user {
        let of_user = list
            .iter()
            .filter(|o| o.user.as_ref() == Some(user))
            .count();
        if of_user >= MAX_SESSIONS_PER_USER {
            return Some(format!(
                "{user} already has {MAX_SESSIONS_PER_USER} live sessions"
            ));
        }
    }
    let of_person = list.iter().filter(|o| o.person == s.person).count();
    if of_person >= MAX_SESSIONS_PER_PERSON {
        return Some(format!(
            "{} already opened {MAX_SESSIONS_PER_PERSON} live sessions",
            s.person
        ));
    }
    let account = s.keys_account.as_ref().filter(|_| s.user.is_none())?;
    let of_keys = list
        .iter()
        .filter(|o| o.user.is_none() && o.keys_account.as_ref() == Some(account))
        .count();
    (of_keys >= MAX_SESSIONS_PER_KEYS_ACCOUNT).then(|| {
        format!(
            "the keys of {} already opened {MAX_SESSIONS_PER_KEYS_ACCOUNT} live sessions that showed no cluster user",
            s.account
        )
    })
}

#[cfg(test)]
#[path = "registry_tests.rs"]
pub(crate) mod tests;
