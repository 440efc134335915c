//! The vanished users the agent remembers (`policy::vanished`): worked out
//! at every install of a bundle, installed with it, and kept in the state
//! directory (`vanished-users.json`, 0600, written atomically), so a
//! restart forgets none of them.
//!
//! The file also holds the users of the last bundle installed (each one's
//! name and own logins) and the policy source it came from: the first
//! bundle after a start is compared with them, so a user removed while the
//! agent was stopped is missed too. After `cluster.source` changed (another
//! cluster, perhaps) they are not compared with; the vanished users stay.
//! A bundle that fails to load installs nothing and changes nothing here.
//! A file that cannot be parsed is moved aside
//! (`vanished-users.json.bad-SECS`) and the agent starts with none; one
//! that is there but cannot be read (its permissions, an I/O error, a
//! symlink) is left as it is and never written over, so the users it
//! holds are not forgotten: the agent keeps what it learns in memory only.
//! Either is shown by `mfactl status` and audited
//! (`vanished_users_unusable`). An entry whose time a `SystemTime` cannot
//! hold, or which lies more than a minute after the start, is dropped
//! (logged): a time from a damaged file never panics the agent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::agent_state::AgentState;
use super::audit_trail::audit;
use crate::policy::{personal_logins, users_gone, Bundle, VanishedUser, VanishedUsers};
use crate::sync::{read_private_file, write_private_file};
use crate::utc_time::{from_unix_secs, unix_secs};

/// The file under the state directory.
pub const VANISHED_FILE: &str = "vanished-users.json";

/// Larger files are not read. The users of the last bundle are left out of
/// a file that would be larger (a later start then misses users removed
/// while it was stopped; the vanished users themselves are bounded by
/// `policy::MAX_VANISHED_USERS` and always fit).
const MAX_FILE: usize = 128 << 20;

const FORMAT: u32 = 1;

#[derive(Default)]
pub struct VanishedBook {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// What decisions read now (installed with every bundle).
    current: Arc<VanishedUsers>,
    /// The users of the bundle in force when the agent last stopped, from
    /// the file, until the first install compares a bundle with them.
    roster_at_start: Option<Vec<Vec<String>>>,
    /// The revision whose users were last written, and their digest: an
    /// unchanged bundle is not looked at again.
    roster_revision: Option<String>,
    roster_digest: Option<String>,
    /// Where the file is kept; `None`: in memory only (tests, `--check`).
    dir: Option<PathBuf>,
    /// The policy source (`PolicySource::describe`) the users written are of.
    source: String,
    /// Why the file could not be read or written, for `mfactl status`.
    error: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VanishedFile {
    format: u32,
    /// The policy source of the bundle whose users `users` are.
    source: String,
    /// The users of the last bundle installed, each `[name, logins...]`;
    /// `null` when there were too many to keep.
    users: Option<Vec<Vec<String>>>,
    vanished: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    name: String,
    logins: Vec<String>,
    /// Seconds since the epoch.
    since: u64,
}

/// How far after the start an entry's `since` may lie (clocks differ a
/// little between runs); a later one is from a damaged file.
const FUTURE_SLACK: Duration = Duration::from_secs(60);

/// Why the file could not be used.
enum Unusable {
    /// It is there but could not be read: left as it is, never written.
    Unreadable(String),
    /// It was read and is not a vanished-users file: moved aside.
    Damaged(String),
}

fn load_file(path: &Path) -> Result<VanishedFile, Unusable> {
    let raw = read_private_file(path, MAX_FILE as u64, true).map_err(Unusable::Unreadable)?;
    let file: VanishedFile = serde_json::from_slice(&raw).map_err(|e| {
        Unusable::Damaged(format!(
            "{}: not a vanished-users file: {e}",
            path.display()
        ))
    })?;
    if file.format != FORMAT {
        return Err(Unusable::Damaged(format!(
            "{}: unknown format {}",
            path.display(),
            file.format
        )));
    }
    Ok(file)
}

/// The file's entries as of `now`: those whose time cannot be held, or lies
/// more than [`FUTURE_SLACK`] after `now`, dropped (logged).
fn entries_of(file: Vec<FileEntry>, now: SystemTime) -> Vec<VanishedUser> {
    let latest = now.checked_add(FUTURE_SLACK).unwrap_or(now);
    file.into_iter()
        .filter_map(|e| match from_unix_secs(e.since) {
            Some(since) if since <= latest => Some(VanishedUser::new(e.name, e.logins, since)),
            _ => {
                eprintln!(
                    "mfa-agent: {VANISHED_FILE}: vanished user {} dropped: since = {} is not a time before now",
                    e.name, e.since
                );
                None
            }
        })
        .collect()
}

impl VanishedBook {
    /// Reads what the last run kept in `dir` (nothing yet is fine), and
    /// keeps every change there from now on (unless the file is there and
    /// cannot be read); `source` is the policy source
    /// (`PolicySource::describe`), `now` the start. Returns how many
    /// vanished users were read.
    pub fn persist_in(&self, dir: &Path, source: &str, now: SystemTime) -> Result<usize, String> {
        let mut inner = self.lock();
        inner.dir = Some(dir.to_path_buf());
        inner.source = source.to_owned();
        let path = dir.join(VANISHED_FILE);
        let loaded = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => Err(Unusable::Unreadable(format!("{}: {e}", path.display()))),
            Ok(_) => load_file(&path),
        };
        let why = match loaded {
            Ok(file) => {
                inner.current =
                    Arc::new(VanishedUsers::from_entries(entries_of(file.vanished, now)));
                // Another source's users are no earlier bundle of this one.
                inner.roster_at_start = file.users.filter(|_| file.source == source);
                return Ok(inner.current.len());
            }
            Err(Unusable::Unreadable(why)) => {
                inner.dir = None;
                format!("{why}: left as it is, the vanished users it holds are not known; kept in memory only")
            }
            Err(Unusable::Damaged(why)) => {
                let aside = dir.join(format!("{VANISHED_FILE}.bad-{}", unix_secs(now)));
                match std::fs::rename(&path, &aside) {
                    Ok(()) => format!(
                        "{why} (moved aside to {}); starting with none",
                        aside.display()
                    ),
                    Err(e) => {
                        inner.dir = None;
                        format!("{why}; could not move it aside ({e}): kept in memory only")
                    }
                }
            }
        };
        inner.error = Some(why.clone());
        Err(why)
    }

    /// The vanished users to install with `next`, which replaces
    /// `previous` (`None` at the first install after a start: the users the
    /// file kept stand for it) at `now`, and the names of those that
    /// vanished with it; saved when they or the bundle's users changed.
    pub fn on_install(
        &self,
        previous: Option<&Bundle>,
        next: &Bundle,
        now: SystemTime,
    ) -> (Arc<VanishedUsers>, Vec<String>) {
        let mut inner = self.lock();
        let gone = match (previous, inner.roster_at_start.take()) {
            // The same bundle again (a SIGHUP, a pull that found no change).
            (Some(p), _) if p.revision == next.revision => Vec::new(),
            (Some(p), _) => users_gone(p, next, now),
            (None, Some(roster)) => roster_gone(roster, next, now),
            (None, None) => Vec::new(),
        };
        let set = inner
            .current
            .after(gone, |n| next.users().contains_key(n), now);
        let new_names: Vec<String> = set
            .iter()
            .filter(|e| inner.current.get(&e.name, now).is_none())
            .map(|e| e.name.clone())
            .collect();
        let changed = set != *inner.current;
        if changed {
            inner.current = Arc::new(set);
        }
        let roster = if inner.roster_revision.as_deref() == Some(next.revision.as_str()) {
            None
        } else {
            inner.roster_revision = Some(next.revision.clone());
            let roster = roster_of(next);
            let digest = digest(&roster);
            (inner.roster_digest.as_deref() != Some(digest.as_str())).then(|| {
                inner.roster_digest = Some(digest);
                roster
            })
        };
        if changed || roster.is_some() {
            inner.save(roster);
        }
        (Arc::clone(&inner.current), new_names)
    }

    /// Forgets `name` (saved); `None` when it is not remembered.
    pub fn forget(&self, name: &str) -> Option<Arc<VanishedUsers>> {
        let mut inner = self.lock();
        let set = Arc::new(inner.current.without(name)?);
        inner.current = Arc::clone(&set);
        inner.save(None);
        Some(set)
    }

    /// What decisions read now, and why the file could not be used (if so).
    pub fn snapshot(&self) -> (Arc<VanishedUsers>, Option<String>) {
        let inner = self.lock();
        (Arc::clone(&inner.current), inner.error.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    /// Writes the file: the vanished users, and `roster` when given (else
    /// the users the file holds now, which are still those of the bundle in
    /// force). A failure is kept for `mfactl status` and logged; the set in
    /// memory stands.
    fn save(&mut self, roster: Option<Vec<Vec<String>>>) {
        let Some(dir) = self.dir.clone() else { return };
        let users = match roster {
            Some(r) => Some(r),
            None => load_file(&dir.join(VANISHED_FILE))
                .ok()
                .filter(|f| f.source == self.source)
                .and_then(|f| f.users),
        };
        let vanished = || {
            self.current
                .iter()
                .map(|e| FileEntry {
                    name: e.name.clone(),
                    logins: e.logins.clone(),
                    since: unix_secs(e.since),
                })
                .collect()
        };
        let mut json = serde_json::to_vec(&VanishedFile {
            format: FORMAT,
            source: self.source.clone(),
            users,
            vanished: vanished(),
        });
        if json.as_ref().is_ok_and(|j| j.len() > MAX_FILE) {
            json = serde_json::to_vec(&VanishedFile {
                format: FORMAT,
                source: self.source.clone(),
                users: None,
                vanished: vanished(),
            });
        }
        let saved = json
            .map_err(|e| e.to_string())
            .and_then(|j| write_private_file(&dir, VANISHED_FILE, &j));
        match saved {
            Ok(()) => self.error = None,
            Err(e) => {
                let why = format!("vanished users kept in memory only: {e}");
                eprintln!("mfa-agent: {why}");
                self.error = Some(why);
                // The next install writes the users of its bundle again.
                self.roster_revision = None;
                self.roster_digest = None;
            }
        }
    }
}

/// Each user of `bundle` as `[name, own logins...]` (the name is the
/// first login).
fn roster_of(bundle: &Bundle) -> Vec<Vec<String>> {
    bundle
        .users()
        .values()
        .map(|u| personal_logins(bundle, u))
        .collect()
}

fn digest(roster: &[Vec<String>]) -> String {
    let mut h = Sha256::new();
    for entry in roster {
        for login in entry {
            h.update(login.as_bytes());
            h.update([0]);
        }
        h.update([1]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The users of a kept roster that `next` does not hold.
fn roster_gone(roster: Vec<Vec<String>>, next: &Bundle, now: SystemTime) -> Vec<VanishedUser> {
    roster
        .into_iter()
        .filter(|e| e.first().is_some_and(|n| !next.users().contains_key(n)))
        .map(|logins| VanishedUser::new(logins[0].clone(), logins, now))
        .collect()
}

/// At start: what the last run kept in the state directory
/// ([`VanishedBook::persist_in`]); a file that could not be used is
/// audited (`vanished_users_unusable`) as well as shown by `mfactl status`.
/// Returns how many vanished users were read.
pub fn restore_vanished_users(state: &AgentState) -> Result<usize, String> {
    let read = state.vanished.persist_in(
        &state.config.cluster.state_dir,
        &state.source.describe(),
        state.now(),
    );
    if let Err(why) = &read {
        audit(
            state,
            "vanished_users_unusable",
            "error",
            "",
            format!("vanished users: {why}"),
        );
    }
    read
}

/// `mfactl forget-user NAME`: forgets a vanished user now (their logins
/// are decided as before they vanished: a local account's, when no user
/// claims them). The smaller set is installed with the bundle in force
/// (swapped in place: the bundle is not copied); audited
/// (`vanished_user_forgotten`).
pub fn forget_vanished_user(state: &AgentState, name: &str) -> Result<String, String> {
    // No install meanwhile: it would work from the set before this one.
    // A pull in progress is waited for a little, not to its end.
    let _one_at_a_time = super::pull_turn::book_within(state, super::pull_turn::BUSY_WAIT)
        .map_err(|busy| busy.message(&format!("{name} not forgotten")))?;
    let set = state
        .vanished
        .forget(name)
        .ok_or_else(|| format!("{name} is not a vanished user (`mfactl status` lists them)"))?;
    if let Some(current) = state.store.current() {
        current.set_vanished(set);
    }
    let message = format!(
        "forgot vanished user {name}: their logins are decided as if they had never been in the policy"
    );
    audit(
        state,
        "vanished_user_forgotten",
        "ok",
        &state.revision(),
        message.clone(),
    );
    Ok(message)
}

#[cfg(test)]
#[path = "vanished_book_tests.rs"]
mod tests;
