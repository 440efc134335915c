//! Who a connection acts for: the invoking person, so that every budget is
//! per person and not per socket peer. sudo, su and sshd all connect as
//! root; what tells the people behind them apart is the kernel's view of
//! the peer process (its real uid, its login uid, its ancestors' real uids)
//! and, for root callers with no one behind them (sshd, login), the PAM
//! context of the login: the key or certificate sshd authenticated it
//! with, else the account.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pam_mfa_protocol::{PamContext, PamHook};

use super::ssh_credential::{credential_of, SshCredential};

/// How far up the process tree a root peer is traced (a root shell from
/// `sudo -s` running `su` is two levels below the sudo). Every level is a
/// lookup on the thread that serves the connection, so the walk stays short.
const MAX_ANCESTORS: usize = 3;
/// /proc/PID/loginuid when no login set it.
const NO_LOGIN_UID: u32 = u32::MAX;

/// The person a connection or a login is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Person {
    /// A local user: a non-root peer, or a root peer (sudo, su) started by
    /// that user (real uid, login uid or an ancestor's real uid).
    Uid(u32),
    /// A login of a root caller with no local person behind it (sshd,
    /// login) that sshd did not authenticate with a public key: counted
    /// against the account that logs in, or PAM_RUSER.
    Login(String),
    /// A login of a root caller with no local person behind it that sshd
    /// authenticated with a public key before pam-mfa: the account with
    /// the key or certificate, so that the people who share an account
    /// (`deploy`, `root`) each have their own budget.
    LoginWith {
        login: String,
        credential: SshCredential,
        /// The account's uid, when the user database knows the name: what
        /// the account's cap is kept by, so that spellings one
        /// case-insensitive directory (SSSD, LDAP) maps to one account,
        /// `DEPLOY` and `deploy`, share it.
        account_uid: Option<u32>,
    },
    /// A root peer with no person behind it, before its first request (the
    /// system: sshd, login, cron).
    System,
    /// Non-root peers with a uid no user has and no user's subordinate
    /// uid, and root peers gone before they could be traced: all together,
    /// so that such peers cannot be multiplied into persons.
    Unknown,
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Person::Uid(uid) => {
                // A user database look-up (slow with LDAP): never under a lock.
                match name_of_uid(*uid) {
                    Some(n) => f.write_str(&n),
                    None => write!(f, "uid {uid}"),
                }
            }
            Person::Login(name) => f.write_str(name),
            Person::LoginWith {
                login, credential, ..
            } => write!(f, "{login} with {credential}"),
            Person::System => f.write_str("the system"),
            Person::Unknown => f.write_str("peers whose person is unknown"),
        }
    }
}

#[cfg(test)]
type NameLookup = Box<dyn Fn(u32) -> Option<String>>;

#[cfg(test)]
thread_local! {
    /// In tests, what names a uid in place of the user database.
    pub(super) static NAME_LOOKUP: std::cell::RefCell<Option<NameLookup>> =
        std::cell::RefCell::new(None);
}

/// The user name of `uid`, from the user database.
fn name_of_uid(uid: u32) -> Option<String> {
    #[cfg(test)]
    if let Some(name) = NAME_LOOKUP.with(|l| l.borrow().as_ref().map(|f| f(uid))) {
        return name;
    }
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// The person behind a peer with SO_PEERCRED `uid` and `pid`, as far as the
/// kernel tells: cheap (a pidfd or a few small /proc reads), done before a
/// connection is served.
pub fn at_accept(uid: u32, pid: i32) -> Person {
    at_accept_pinned(uid, pid, None).0
}

/// [`at_accept`] for a peer pinned by its pidfd: the root peer's own ids
/// come from the pidfd, and what was read of /proc/PID counts only if the
/// process still runs after it was read (else the pid may name another
/// process by now: the person is unknown). With it, a root peer's real uid
/// as read so (`None`: a non-root peer, no pidfd, or the process is gone):
/// what says root itself runs the sudo that asks, read once, of the process
/// that connected and of no other.
pub(super) fn at_accept_pinned(
    uid: u32,
    pid: i32,
    pinned: Option<&OwnedFd>,
) -> (Person, Option<u32>) {
    if uid != 0 {
        return (behind_non_root(uid), None);
    }
    let own = pinned
        .and_then(super::pidfd::real_uid_and_parent_of)
        .or_else(|| status_ids(pid));
    let person = own
        .and_then(|own| behind_root(pid, own))
        .map_or(Person::System, Person::Uid);
    match pinned {
        Some(fd) if !super::pidfd::still_runs(fd) => (Person::Unknown, None),
        Some(_) => (person, own.map(|(ruid, _)| ruid)),
        // No pidfd: a fresh look-up by pid may have named another process.
        None => (person, None),
    }
}

/// The real uid of the running process `pid`, read as a connection's is
/// (through a pidfd that pins it), for tests that stand in for a peer.
#[cfg(test)]
pub fn pinned_real_uid_of(pid: i32) -> Option<u32> {
    use rustix::process::{pidfd_open, Pid, PidfdFlags};
    let fd = pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
    at_accept_pinned(0, pid, Some(&fd)).1
}

/// A non-root peer is its uid when a user has it (a directory user whose
/// uid falls in some subordinate range, as LXD's `root:1000000:1000000000`,
/// is still themselves). A uid no user has that lies in a user's
/// subordinate range (/etc/subuid) is that user's: one user mapping many
/// uids into a user namespace is one person. Any other uid no user has
/// (root's ranges included: root is no person to count against) is counted
/// with every other such uid.
fn behind_non_root(uid: u32) -> Person {
    person_for_uid(uid, has_name(uid), || super::subuid::owner_of(uid))
}

/// [`behind_non_root`] once it is known whether a user has `uid`; the
/// subordinate range's owner is asked only for a uid no user has.
fn person_for_uid(uid: u32, named: bool, owner: impl FnOnce() -> Option<String>) -> Person {
    if named {
        return Person::Uid(uid);
    }
    let person =
        owner().and_then(
            |owner| match owner.parse::<u32>().ok().or_else(|| uid_of(&owner)) {
                Some(0) => None,
                Some(owner_uid) => Some(Person::Uid(owner_uid)),
                None if owner == "root" => None,
                None => Some(Person::Login(owner)),
            },
        );
    person.unwrap_or(Person::Unknown)
}

/// Whether a user has `uid`, remembered for [`NAME_TTL`] (asked for every
/// connection of a non-root peer, before its budget is checked).
fn has_name(uid: u32) -> bool {
    static UIDS: Mutex<Option<HashMap<u32, (Instant, bool)>>> = Mutex::new(None);
    let now = Instant::now();
    {
        let uids = UIDS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&(at, named)) = uids.as_ref().and_then(|u| u.get(&uid)) {
            if now.duration_since(at) < NAME_TTL {
                return named;
            }
        }
    }
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

/// The person a `begin` of `hook` from a peer first counted as `at_accept`
/// is for. A root peer with no one behind it (sshd) is many people: in
/// `auth` and `account`, a login sshd authenticated with a public key is
/// that key's or certificate's on its account ([`Person::LoginWith`]).
/// `SSH_AUTH_INFO_0` is sshd's own there (by `open_session`, a user's
/// `~/.pam_environment` may have set it: see `login::recorded_auth`).
///
/// Any other login of such a peer (a password or keyboard-interactive
/// alone, a console `login`, another service) counts against its account,
/// as the same account's other such logins do: nothing sshd vouches for
/// tells its people apart. rhost is no key for them (one attacker may have
/// many addresses, and each would be a budget), nor the tty (the caller's
/// to choose).
pub fn for_login(at_accept: &Person, hook: PamHook, context: &PamContext) -> Person {
    if *at_accept != Person::System {
        return at_accept.clone();
    }
    let from_sshd = matches!(hook, PamHook::Auth | PamHook::Account);
    let credential = context
        .ssh_auth_info
        .as_deref()
        .filter(|_| from_sshd)
        .and_then(credential_of);
    match credential {
        Some(credential) => Person::LoginWith {
            login: context.user.clone(),
            credential,
            account_uid: uid_of(&context.user),
        },
        None => account_of(context),
    }
}

/// The account a login of a root peer with no one behind it counts
/// against: PAM_RUSER, else the account that logs in (its uid when it has
/// one but root's).
fn account_of(context: &PamContext) -> Person {
    let name = context
        .ruser
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&context.user);
    match uid_of(name) {
        Some(uid) if uid != 0 => Person::Uid(uid),
        _ => Person::Login(name.to_string()),
    }
}

/// The person a login's tap on a key attached to this host counts against:
/// a non-root peer itself (it may only ask about itself), a root peer run
/// by a user (sudo, su: its real uid, read through its pidfd), else the
/// person the login is about (PAM_RUSER, else the account). Taps on
/// attached keys are never for SSH logins, so no SSH credential counts.
pub fn for_tap(peer_uid: u32, real_uid: Option<u32>, context: &PamContext) -> Person {
    if peer_uid != 0 {
        return Person::Uid(peer_uid);
    }
    match real_uid {
        Some(uid) if uid != 0 => Person::Uid(uid),
        _ => account_of(context),
    }
}

/// How long a user name's uid (or its absence) is remembered. The uid only
/// says whose budget a login counts against, never what it may do.
const NAME_TTL: Duration = Duration::from_secs(10);
/// Names remembered at most (then all are forgotten).
const MAX_NAMES: usize = 4096;

/// A user name's uid (`None`: no such user) and when it was looked up.
type NameCache = HashMap<String, (Instant, Option<u32>)>;

/// The uid of a user name, from the user database. Remembered for
/// [`NAME_TTL`]: every SSH login asks, and a lookup through NSS takes tens
/// of microseconds (a name no module knows, the longest).
fn uid_of(name: &str) -> Option<u32> {
    static NAMES: Mutex<Option<NameCache>> = Mutex::new(None);
    let now = Instant::now();
    {
        let names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&(at, uid)) = names.as_ref().and_then(|n| n.get(name)) {
            if now.duration_since(at) < NAME_TTL {
                return uid;
            }
        }
    }
    let uid = nix::unistd::User::from_name(name)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let names = names.get_or_insert_with(HashMap::new);
    if names.len() >= MAX_NAMES {
        names.clear();
    }
    names.insert(name.to_string(), (now, uid));
    uid
}

/// The non-root user behind a root process: its real uid (sudo and su keep
/// the invoking user's), its login uid, or the first ancestor's non-root
/// real uid. `own` is that process's own (real uid, parent pid).
fn behind_root(pid: i32, (ruid, mut ppid): (u32, i32)) -> Option<u32> {
    if ruid != 0 {
        return Some(ruid);
    }
    if let Some(l) = login_uid(pid).filter(|&l| l != 0 && l != NO_LOGIN_UID) {
        return Some(l);
    }
    for _ in 0..MAX_ANCESTORS {
        if ppid <= 1 {
            return None;
        }
        let (ruid, next) = status_ids(ppid)?;
        if ruid != 0 {
            return Some(ruid);
        }
        ppid = next;
    }
    None
}

/// (real uid, parent pid): from the process's pidfd where the kernel
/// tells, else from /proc/PID/status.
fn status_ids(pid: i32) -> Option<(u32, i32)> {
    super::pidfd::real_uid_and_parent(pid).or_else(|| proc_status_ids(pid))
}

fn proc_status_ids(pid: i32) -> Option<(u32, i32)> {
    let mut buf = [0u8; 4096];
    parse_status(read_small(&format!("/proc/{pid}/status"), &mut buf)?)
}

/// A small /proc file in one `read` (the kernel renders it whole for the
/// first read): no size probe, no growing buffer. `None` when it cannot be
/// read. What does not fit is left out (the fields used here are near the
/// start).
fn read_small<'b>(path: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let n = std::fs::File::open(path).ok()?.read(buf).ok()?;
    Some(&buf[..n])
}

/// Read as bytes, line by line: the Name line is the program's file name,
/// which a local user can choose (a symlink to sudo), and bytes there that
/// are not UTF-8 must not make the person unknown.
fn parse_status(bytes: &[u8]) -> Option<(u32, i32)> {
    let field = |name: &[u8]| {
        let rest = bytes
            .split(|b| *b == b'\n')
            .find_map(|line| line.strip_prefix(name))?;
        std::str::from_utf8(rest).ok()?.split_whitespace().next()
    };
    let ruid = field(b"Uid:")?.parse().ok()?;
    let ppid = field(b"PPid:")?.parse().ok()?;
    Some((ruid, ppid))
}

fn login_uid(pid: i32) -> Option<u32> {
    let mut buf = [0u8; 16];
    std::str::from_utf8(read_small(&format!("/proc/{pid}/loginuid"), &mut buf)?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
#[path = "person_tests.rs"]
mod tests;
