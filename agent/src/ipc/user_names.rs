//! The user database as the budgets ask it: a uid's name, whether a user
//! has a uid, a name's uid. Names only say whose budget something counts
//! against, never what it may do, so answers are remembered for a while
//! (every SSH login and every non-root connection asks).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a user name's uid (or its absence) is remembered.
const NAME_TTL: Duration = Duration::from_secs(10);
/// Names remembered at most (then all are forgotten).
const MAX_NAMES: usize = 4096;

#[cfg(test)]
type NameLookup = Box<dyn Fn(u32) -> Option<String>>;

#[cfg(test)]
thread_local! {
    /// In tests, what names a uid in place of the user database.
    pub(super) static NAME_LOOKUP: std::cell::RefCell<Option<NameLookup>> =
        std::cell::RefCell::new(None);
}

/// The user name of `uid`, from the user database.
pub(crate) fn name_of_uid(uid: u32) -> Option<String> {
    #[cfg(test)]
    if let Some(name) = NAME_LOOKUP.with(|l| l.borrow().as_ref().map(|f| f(uid))) {
        return name;
    }
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// Whether a user has `uid`, as last looked up within [`NAME_TTL`].
static UIDS: Mutex<Option<HashMap<u32, (Instant, bool)>>> = Mutex::new(None);

/// Whether a user has `uid`, if the user database was asked within
/// [`NAME_TTL`]; `None`: it would have to be asked (the accepting thread
/// never waits on it: see `super::pool::at_accept`).
pub(super) fn has_name_cached(uid: u32) -> Option<bool> {
    let uids = UIDS.lock().unwrap_or_else(|p| p.into_inner());
    let &(at, named) = uids.as_ref()?.get(&uid)?;
    (at.elapsed() < NAME_TTL).then_some(named)
}

/// Whether a user has `uid`, remembered for [`NAME_TTL`] (asked for every
/// connection of a non-root peer, before its budget is checked).
pub(super) fn has_name(uid: u32) -> bool {
    if let Some(named) = has_name_cached(uid) {
        return named;
    }
    let now = Instant::now();
    let named = matches!(
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
        Ok(Some(_))
    );
    let mut uids = UIDS.lock().unwrap_or_else(|p| p.into_inner());
    let uids = uids.get_or_insert_with(HashMap::new);
    if uids.len() >= MAX_NAMES {
        uids.clear();
    }
    uids.insert(uid, (now, named));
    named
}

/// A user name's account (`None`: no such user) and when it was looked up.
type NameCache = HashMap<String, (Instant, Option<(u32, String)>)>;

/// The uid of a user name, from the user database (see [`account_of`]).
pub(crate) fn uid_of(name: &str) -> Option<u32> {
    account_of(name).map(|(uid, _)| uid)
}

/// The account a user name logs in to, from the user database (getpwnam):
/// its uid and the name the database gives it (`pw_name`), which a source
/// that matches names without regard to case (sssd's `case_sensitive =
/// false`, the usual Active Directory setup) spells its own way: `RVCASE`
/// is `rvcase`. Remembered for [`NAME_TTL`]: every SSH login asks, and a
/// lookup through NSS takes tens of microseconds (a name no module knows,
/// the longest).
pub(crate) fn account_of(name: &str) -> Option<(u32, String)> {
    static NAMES: Mutex<Option<NameCache>> = Mutex::new(None);
    let now = Instant::now();
    {
        let names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, account)) = names.as_ref().and_then(|n| n.get(name)) {
            if now.duration_since(*at) < NAME_TTL {
                return account.clone();
            }
        }
    }
    let account = nix::unistd::User::from_name(name)
        .ok()
        .flatten()
        .map(|u| (u.uid.as_raw(), u.name));
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let names = names.get_or_insert_with(HashMap::new);
    if names.len() >= MAX_NAMES {
        names.clear();
    }
    names.insert(name.to_string(), (now, account.clone()));
    account
}
