//! Cluster users that an installed bundle held and a later one no longer
//! holds ("vanished users"), as data a decision reads beside the bundle.
//!
//! Teleport deletes a user resource when it reaches its `metadata.expires`
//! (an SSO user's ends with their SSO session: lib/auth/github.go
//! `createGithubUser` sets it to the session's TTL; SAML and OIDC users
//! likewise) or when an admin removes it (offboarding). A deleted user is
//! allowed nothing, and a `user` lock on them still holds all their access
//! (lib/srv/ctx.go `ComputeLockTargets` names the person; api/types/lock.go
//! `LockTarget.Match`). A bundle published after the deletion no longer
//! holds the user, and their login would otherwise read as a local account
//! the cluster does not manage (host authentication, the cap's requirement
//! only). The agent remembers such users (`state::VanishedBook`, in its
//! state directory) and installs the set with every bundle
//! ([`super::Bundle::set_vanished`]; worked out from bundles by
//! `super::vanished_from`); `decide` denies a login that only a
//! vanished user held, and a vanished user identified by a key or a tap.
//!
//! An entry counts for [`VANISHED_USER_RETENTION`] after the user was first
//! missed, and is dropped as soon as a bundle holds the user again. At most
//! [`MAX_VANISHED_USERS`] are kept; past that the oldest go first.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::utc_time::whole_seconds;

/// How long a vanished user is remembered after the first bundle without
/// them: 30 days, past the longest SSO session Teleport issues (its
/// `max_session_ttl` defaults to 30 hours) and long enough for an
/// offboarding to be followed by the removal of the host account.
pub const VANISHED_USER_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How many vanished users are kept at most; past that, the ones that
/// vanished first are forgotten first.
pub const MAX_VANISHED_USERS: usize = 100_000;

/// One cluster user that a bundle held and a later one does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VanishedUser {
    /// The user's name (`metadata.name`).
    pub name: String,
    /// The host logins that were theirs: their name, their `logins` trait,
    /// and what their roles' allow-logins templates gave them (a literal
    /// login such as `root` is a shared account's, never one person's).
    pub logins: Vec<String>,
    /// When a bundle without them was first installed.
    pub since: SystemTime,
}

impl VanishedUser {
    /// `name`, whose logins were `logins`, missed from `since` on (in whole
    /// seconds, as the agent keeps it on disk).
    pub fn new(name: String, logins: Vec<String>, since: SystemTime) -> VanishedUser {
        VanishedUser {
            name,
            logins,
            since: whole_seconds(since),
        }
    }

    /// Whether the entry still counts at `now`: within the retention after
    /// `since` (an entry from the future, after the clock was set back,
    /// still counts).
    pub fn in_force(&self, now: SystemTime) -> bool {
        match now.duration_since(self.since) {
            Ok(age) => age < VANISHED_USER_RETENTION,
            Err(_) => true,
        }
    }

    /// When it stops counting (`None`: later than a `SystemTime` holds).
    pub fn until(&self) -> Option<SystemTime> {
        self.since.checked_add(VANISHED_USER_RETENTION)
    }
}

/// The vanished users a decision reads: by name, and by login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VanishedUsers {
    by_name: BTreeMap<String, VanishedUser>,
    /// A login → the names of the users it was a login of.
    by_login: HashMap<String, Vec<String>>,
}

impl VanishedUsers {
    /// The set of these entries: one per name (the earliest `since` kept),
    /// at most [`MAX_VANISHED_USERS`] (the latest ones).
    pub fn from_entries(entries: impl IntoIterator<Item = VanishedUser>) -> VanishedUsers {
        let mut by_name: BTreeMap<String, VanishedUser> = BTreeMap::new();
        for e in entries {
            match by_name.get(&e.name) {
                Some(kept) if kept.since <= e.since => {}
                _ => {
                    by_name.insert(e.name.clone(), e);
                }
            }
        }
        if by_name.len() > MAX_VANISHED_USERS {
            let mut order: Vec<(SystemTime, String)> = by_name
                .values()
                .map(|e| (e.since, e.name.clone()))
                .collect();
            order.sort();
            for (_, name) in order.iter().take(by_name.len() - MAX_VANISHED_USERS) {
                by_name.remove(name);
            }
        }
        let mut by_login: HashMap<String, Vec<String>> = HashMap::new();
        for e in by_name.values() {
            for login in &e.logins {
                by_login
                    .entry(login.clone())
                    .or_default()
                    .push(e.name.clone());
            }
        }
        VanishedUsers { by_name, by_login }
    }

    /// After the next bundle is installed: these entries, and `gone` (the
    /// users the bundle before held and the next does not), less those
    /// the next bundle holds (`held`) and those past their retention at
    /// `now`.
    pub fn after(
        &self,
        gone: impl IntoIterator<Item = VanishedUser>,
        held: impl Fn(&str) -> bool,
        now: SystemTime,
    ) -> VanishedUsers {
        let kept = self.by_name.values().cloned().chain(gone);
        VanishedUsers::from_entries(kept.filter(|e| e.in_force(now) && !held(&e.name)))
    }

    /// These entries without `name` (`None` when it is not one of them).
    pub fn without(&self, name: &str) -> Option<VanishedUsers> {
        self.by_name.contains_key(name).then(|| {
            VanishedUsers::from_entries(self.by_name.values().filter(|e| e.name != name).cloned())
        })
    }

    /// The vanished user of this name, while the entry counts at `now`.
    pub fn get(&self, name: &str, now: SystemTime) -> Option<&VanishedUser> {
        self.by_name.get(name).filter(|e| e.in_force(now))
    }

    /// The vanished users `login` was a login of, while their entries
    /// count at `now`, by name.
    pub fn for_login(&self, login: &str, now: SystemTime) -> Vec<&VanishedUser> {
        self.by_login
            .get(login)
            .into_iter()
            .flatten()
            .filter_map(|name| self.get(name, now))
            .collect()
    }

    /// Every entry, by name (past their retention or not).
    pub fn iter(&self) -> impl Iterator<Item = &VanishedUser> {
        self.by_name.values()
    }

    /// The entries that still count at `now`, by name.
    pub fn iter_in_force(&self, now: SystemTime) -> impl Iterator<Item = &VanishedUser> {
        self.by_name.values().filter(move |e| e.in_force(now))
    }

    /// How many entries still count at `now`.
    pub fn count_in_force(&self, now: SystemTime) -> usize {
        self.iter_in_force(now).count()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The vanished users installed with a bundle: one `Arc`, swapped whole,
/// so installing another set with a bundle already shared (the one in
/// force, named again by a new manifest) copies nothing of the bundle.
#[derive(Debug, Default)]
pub(super) struct InstalledVanished(RwLock<Arc<VanishedUsers>>);

impl InstalledVanished {
    pub(super) fn get(&self) -> Arc<VanishedUsers> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts `set` in place; whether it differs from the one there (an
    /// unchanged set, the same `Arc`, is not written).
    pub(super) fn set(&self, set: Arc<VanishedUsers>) -> bool {
        if Arc::ptr_eq(&self.get(), &set) {
            return false;
        }
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = set;
        true
    }
}

impl Clone for InstalledVanished {
    fn clone(&self) -> Self {
        InstalledVanished(RwLock::new(self.get()))
    }
}

#[cfg(test)]
#[path = "vanished_tests.rs"]
mod tests;
