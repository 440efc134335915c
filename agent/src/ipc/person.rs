//! Who a connection acts for: the invoking person, so that every budget is
//! per person and not per socket peer. sudo, su and sshd all connect as
//! root; what tells the people behind them apart is the kernel's view of
//! the peer process (its real uid, its login uid, its ancestors' real uids)
//! and, for sshd's logins and root callers with no one behind them, the
//! PAM context of the login (`super::login_person`).

use std::fmt;
use std::io::Read;
use std::os::fd::OwnedFd;

use super::ssh_credential::SshCredential;
use super::user_names::{has_name, name_of_uid, uid_of};

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
    /// A login of a root caller with no local person behind it (the
    /// console `login`, a greeter; sudo and su run by root itself) to an
    /// account with no uid or root's: counted against the account that
    /// logs in, or PAM_RUSER.
    Login(String),
    /// sshd's login that sshd authenticated with a public key before
    /// pam-mfa: the account with the key or certificate, so that the people
    /// who share an account (`deploy`, `root`) each have their own budget.
    LoginWith {
        login: String,
        credential: SshCredential,
        /// The account's uid, when the user database knows the name: what
        /// the account's cap is kept by, so that spellings one
        /// case-insensitive directory (SSSD, LDAP) maps to one account,
        /// `DEPLOY` and `deploy`, share it.
        account_uid: Option<u32>,
    },
    /// sshd's logins that sshd did not authenticate with a public key (a
    /// password or keyboard-interactive alone) to the account with this
    /// uid; `None`: to any name no user has, all together (sshd logs none of
    /// them in, and a remote caller could invent names without end).
    /// Nothing sshd vouches for tells their people apart, so they share one
    /// budget per account: apart from the account's own local user
    /// ([`Person::Uid`]: their sudo, su, screen unlock) and from root's
    /// own sudo and su ([`Person::Login`]).
    SshWithoutKey(Option<u32>),
    /// A root peer with no person behind it (the system: sshd, login,
    /// cron), and a root peer traced to a person only through its login
    /// uid or ancestors, before its first request (see
    /// [`Accepted::counted_as`]).
    System,
    /// Non-root peers with a uid no user has and no user's subordinate
    /// uid, and root peers gone before they could be traced: all together,
    /// so that such peers cannot be multiplied into persons.
    Unknown,
}

impl Person {
    /// The account whose keys and certificates share a cap with this
    /// [`Person::LoginWith`]'s: by uid when the user database knows the
    /// name (spellings a case-insensitive directory maps to one account,
    /// `DEPLOY` and `deploy`, share it), else by name. `None` for any other
    /// person (its account is itself, or it is a local user).
    pub fn keys_account(&self) -> Option<String> {
        match self {
            Person::LoginWith {
                login, account_uid, ..
            } => Some(account_uid.map_or_else(|| format!("name {login}"), |u| format!("uid {u}"))),
            _ => None,
        }
    }
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
            Person::SshWithoutKey(Some(uid)) => match name_of_uid(*uid) {
                Some(n) => write!(f, "{n} over SSH without a key"),
                None => write!(f, "uid {uid} over SSH without a key"),
            },
            Person::SshWithoutKey(None) => f.write_str("names no user has, over SSH without a key"),
            Person::System => f.write_str("the system"),
            Person::Unknown => f.write_str("peers whose person is unknown"),
        }
    }
}

/// What the kernel tells of a peer when its connection is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Accepted {
    /// The person behind the peer.
    pub(super) person: Person,
    /// A root peer's real uid as read through its pidfd (`None`: a non-root
    /// peer, no pidfd, or the process is gone): what says root itself runs
    /// the sudo that asks, read once, of the process that connected and of
    /// no other.
    pub(super) real_uid: Option<u32>,
    /// Whom the connection counts against until its first request: the
    /// person, but the system for a root peer whose own real uid is root's
    /// and whose person was traced through its login uid or an ancestor.
    /// Such a peer may be a daemon started from that person's login
    /// session: sshd started by hand, or by an init script run there,
    /// carries their login uid into every connection it makes, and every
    /// SSH login on the host would share their budget. Its first request
    /// says which it is (`super::admission::settle_connection`): sshd's
    /// logins and its keys command's requests stay the system's, anything
    /// else is the person's.
    pub(super) counted_as: Person,
}

/// The person behind a peer with SO_PEERCRED `uid` and `pid`, as far as the
/// kernel tells: cheap (a pidfd or a few small /proc reads), done before a
/// connection is served.
pub fn at_accept(uid: u32, pid: i32) -> Person {
    at_accept_pinned(uid, pid, None).person
}

/// [`at_accept`] for a peer pinned by its pidfd: the root peer's own ids
/// come from the pidfd, and what was read of /proc/PID counts only if the
/// process still runs after it was read (else the pid may name another
/// process by now: the person is unknown).
pub(super) fn at_accept_pinned(uid: u32, pid: i32, pinned: Option<&OwnedFd>) -> Accepted {
    if uid != 0 {
        let person = behind_non_root(uid);
        return Accepted {
            counted_as: person.clone(),
            person,
            real_uid: None,
        };
    }
    let own = pinned
        .and_then(super::pidfd::real_uid_and_parent_of)
        .or_else(|| status_ids(pid));
    let behind = own.and_then(|own| behind_root(pid, own));
    let (person, counted_as) = match behind {
        Some(Behind::RealUid(uid)) => (Person::Uid(uid), Person::Uid(uid)),
        Some(Behind::Traced(uid)) => (Person::Uid(uid), Person::System),
        None => (Person::System, Person::System),
    };
    let gone = Accepted {
        person: Person::Unknown,
        real_uid: None,
        counted_as: Person::Unknown,
    };
    match pinned {
        Some(fd) if !super::pidfd::still_runs(fd) => gone,
        Some(_) => Accepted {
            person,
            real_uid: own.map(|(ruid, _)| ruid),
            counted_as,
        },
        // No pidfd: a fresh look-up by pid may have named another process.
        None => Accepted {
            person,
            real_uid: None,
            counted_as,
        },
    }
}

/// The real uid of the running process `pid`, read as a connection's is
/// (through a pidfd that pins it), for tests that stand in for a peer.
#[cfg(test)]
pub fn pinned_real_uid_of(pid: i32) -> Option<u32> {
    use rustix::process::{pidfd_open, Pid, PidfdFlags};
    let fd = pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
    at_accept_pinned(0, pid, Some(&fd)).real_uid
}

/// A non-root peer is its uid when a user has it (a directory user whose
/// uid falls in some subordinate range, as LXD's `root:1000000:1000000000`,
/// is still themselves). A uid no user has that lies in a user's
/// subordinate range (/etc/subuid) is that user's: one user mapping many
/// uids into a user namespace is one person. Any other uid no user has
/// (root's ranges included: root is no person to count against) is counted
/// with every other such uid.
pub(super) fn behind_non_root(uid: u32) -> Person {
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

/// How the user behind a root process was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behind {
    /// The process's own real uid (sudo and su keep the invoking user's).
    RealUid(u32),
    /// The process runs with root's real uid; its login uid or an
    /// ancestor's real uid names the user.
    Traced(u32),
}

/// The non-root user behind a root process: its real uid (sudo and su keep
/// the invoking user's), its login uid, or the first ancestor's non-root
/// real uid. `own` is that process's own (real uid, parent pid).
fn behind_root(pid: i32, (ruid, mut ppid): (u32, i32)) -> Option<Behind> {
    if ruid != 0 {
        return Some(Behind::RealUid(ruid));
    }
    if let Some(l) = login_uid(pid).filter(|&l| l != 0 && l != NO_LOGIN_UID) {
        return Some(Behind::Traced(l));
    }
    for _ in 0..MAX_ANCESTORS {
        if ppid <= 1 {
            return None;
        }
        let (ruid, next) = status_ids(ppid)?;
        if ruid != 0 {
            return Some(Behind::Traced(ruid));
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
