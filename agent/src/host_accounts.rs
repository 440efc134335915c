//! Which local account names share a uid. The kernel knows a person by
//! their uid, while PAM, sudo and sshd hand the agent names: with two
//! passwd entries of one uid (`rvbjops:x:1001` before `rvbj:x:1001`), sudo
//! and su name the first as the invoking user, and `ssh rvbjops@host`
//! logs in to uid 1001 as well. The agent asks here for the other names of
//! a login's uid so that an alias of a cluster login is decided as that
//! login (see `login::policy_login`).
//!
//! The passwd database is enumerated through NSS (`getpwent`: the files and
//! every source that enumerates; sssd and LDAP sources usually do not, so
//! their aliases are not seen), off the login path, and redone after
//! [`TTL`]; only logins that name no cluster user ask. Those also take, with
//! no enumeration, the name the database gives the login (getpwnam's
//! `pw_name`: a case-insensitive sssd or LDAP source answers `RVCASE` with
//! its account `rvcase`) and the name of its uid (getpwuid's, looked up
//! off the login path too: [`uid_name`]).

mod uid_name;

pub use uid_name::{name_of_uid_bounded, Unanswered};

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long an enumeration of the passwd database is used before it is
/// redone (in the background).
const TTL: Duration = Duration::from_secs(10);
/// How long a login waits for the agent's first enumeration.
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// Entries read at most from one enumeration (a directory that enumerates
/// millions is not read whole on a login's path).
const MAX_ENTRIES: usize = 200_000;

/// The names of each uid, in the order of the passwd database.
pub type NamesByUid = HashMap<u32, Vec<String>>;

#[cfg(test)]
thread_local! {
    /// In tests, the passwd database as (name, uid) entries.
    pub(crate) static PASSWD: std::cell::RefCell<Option<Vec<(String, u32)>>> =
        const { std::cell::RefCell::new(None) };
    /// In tests, a source after [`PASSWD`] that getpwnam and getpwuid find
    /// and getpwent does not list, matching names without regard to case
    /// (sssd with `case_sensitive = false`), as (name, uid) entries.
    pub(crate) static DIRECTORY: std::cell::RefCell<Vec<(String, u32)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// In tests, uids whose getpwuid never answers in time (a hung
    /// directory).
    pub(crate) static UNANSWERED_UIDS: std::cell::RefCell<Vec<u32>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// In tests, the entry getpwnam finds for `name`: [`PASSWD`]'s of that
/// name, else [`DIRECTORY`]'s of that name in any case.
#[cfg(test)]
fn test_entry_of_name(passwd: Vec<(String, u32)>, name: &str) -> Option<(String, u32)> {
    passwd.into_iter().find(|(n, _)| n == name).or_else(|| {
        DIRECTORY.with(|d| {
            d.borrow()
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .cloned()
        })
    })
}

/// In tests, the name getpwuid finds for `uid`: [`PASSWD`]'s first, else
/// [`DIRECTORY`]'s first.
#[cfg(test)]
fn test_name_of_uid(passwd: Vec<(String, u32)>, uid: u32) -> Option<String> {
    let directory = DIRECTORY.with(|d| d.borrow().clone());
    passwd
        .into_iter()
        .chain(directory)
        .find(|(_, u)| *u == uid)
        .map(|(n, _)| n)
}

/// What the last enumeration found, and when it ended.
struct Enumerated {
    at: Option<Instant>,
    names: Option<Arc<NamesByUid>>,
    running: bool,
}

static ENUMERATED: Mutex<Enumerated> = Mutex::new(Enumerated {
    at: None,
    names: None,
    running: false,
});
static ENUMERATED_READY: Condvar = Condvar::new();

/// The names of every uid, from the last enumeration. A login never waits
/// on NSS (a directory may enumerate slowly, or hang): an enumeration older
/// than [`TTL`] is redone on a thread of its own while the last one is
/// used, one at a time; only before the first has ended does a login wait
/// for it, at most [`FIRST_WAIT`], and then goes on without (a name's
/// aliases are then not known, as before the agent looked for them).
pub fn names_by_uid() -> Arc<NamesByUid> {
    #[cfg(test)]
    if let Some(entries) = PASSWD.with(|p| p.borrow().clone()) {
        return Arc::new(group_by_uid(entries));
    }
    let mut e = ENUMERATED.lock().unwrap_or_else(|p| p.into_inner());
    let fresh = e.at.is_some_and(|at| at.elapsed() < TTL);
    if !fresh && !e.running {
        e.running = std::thread::Builder::new()
            .name("passwd-enumeration".into())
            .spawn(enumerate_in_background)
            .is_ok();
    }
    if e.at.is_none() && e.running {
        e = ENUMERATED_READY
            .wait_timeout_while(e, FIRST_WAIT, |e| e.at.is_none())
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    e.names.clone().unwrap_or_default()
}

/// One enumeration, stored with the time it ended.
fn enumerate_in_background() {
    let names = Arc::new(group_by_uid(enumerate_passwd()));
    let mut e = ENUMERATED.lock().unwrap_or_else(|p| p.into_inner());
    e.names = Some(names);
    e.at = Some(Instant::now());
    e.running = false;
    ENUMERATED_READY.notify_all();
}

/// The names of `uid` other than `name`, in passwd order.
pub fn other_names_of_uid(uid: u32, name: &str) -> Vec<String> {
    names_by_uid()
        .get(&uid)
        .map(|names| names.iter().filter(|n| *n != name).cloned().collect())
        .unwrap_or_default()
}

/// The uid of a name (getpwnam, remembered for a while).
pub fn uid_of_name(name: &str) -> Option<u32> {
    account_of_name(name).map(|(uid, _)| uid)
}

/// The account a name logs in to (getpwnam, remembered for a while): its
/// uid and the name the user database gives it (`pw_name`), which may be
/// spelled otherwise than `name` (a case-insensitive source).
pub fn account_of_name(name: &str) -> Option<(u32, String)> {
    #[cfg(test)]
    if let Some(entries) = PASSWD.with(|p| p.borrow().clone()) {
        return test_entry_of_name(entries, name).map(|(n, u)| (u, n));
    }
    crate::ipc::account_of(name)
}

/// The name of a uid (getpwuid: the first entry of that uid).
pub fn name_of_uid(uid: u32) -> Option<String> {
    #[cfg(test)]
    if let Some(entries) = PASSWD.with(|p| p.borrow().clone()) {
        return test_name_of_uid(entries, uid);
    }
    crate::ipc::name_of_uid(uid)
}

/// Groups (name, uid) entries by uid, each name once, in their order.
pub fn group_by_uid(entries: impl IntoIterator<Item = (String, u32)>) -> NamesByUid {
    let mut by_uid = NamesByUid::new();
    for (name, uid) in entries {
        let names = by_uid.entry(uid).or_default();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    by_uid
}

/// Every (name, uid) of the passwd database, through NSS.
fn enumerate_passwd() -> Vec<(String, u32)> {
    // setpwent/getpwent/endpwent share one position per process: one
    // enumeration at a time.
    static ENUMERATING: Mutex<()> = Mutex::new(());
    let _turn = ENUMERATING.lock().unwrap_or_else(|p| p.into_inner());
    let mut entries = Vec::new();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: setpwent, getpwent_r and endpwent are called under ENUMERATING;
    // getpwent_r writes the entry's strings into `buf` (its length given)
    // and `pwd`, which are read before the next call.
    unsafe { libc::setpwent() };
    while entries.len() < MAX_ENTRIES {
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwent_r(&mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < 1024 * 1024 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            break;
        }
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        if let Ok(name) = name.to_str() {
            entries.push((name.to_owned(), pwd.pw_uid));
        }
    }
    unsafe { libc::endpwent() };
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_a_uid_keep_their_order_once_each() {
        let by_uid = group_by_uid([
            ("rvbjops".to_owned(), 1001),
            ("alice".to_owned(), 1000),
            ("rvbj".to_owned(), 1001),
            ("rvbj".to_owned(), 1001),
        ]);
        assert_eq!(by_uid[&1001], ["rvbjops", "rvbj"]);
        assert_eq!(by_uid[&1000], ["alice"]);
    }

    #[test]
    fn other_names_leave_out_the_name_asked_about() {
        PASSWD.with(|p| {
            *p.borrow_mut() = Some(vec![
                ("rvbjops".into(), 1001),
                ("rvbj".into(), 1001),
                ("alice".into(), 1000),
            ])
        });
        assert_eq!(other_names_of_uid(1001, "rvbjops"), ["rvbj"]);
        assert!(other_names_of_uid(1000, "alice").is_empty());
        assert!(other_names_of_uid(7, "nobody").is_empty());
        PASSWD.with(|p| *p.borrow_mut() = None);
    }

    #[test]
    fn the_real_database_holds_root() {
        assert!(names_by_uid()
            .get(&0)
            .is_some_and(|n| n.iter().any(|n| n == "root")));
    }
}
