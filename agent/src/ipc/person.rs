//! Who a connection acts for: the invoking person, so that every budget is
//! per person and not per socket peer. sudo, su and sshd all connect as
//! root; what tells the people behind them apart is the kernel's view of
//! the peer process (its real uid, its login uid, its ancestors' real uids)
//! and, for root callers with no one behind them (sshd, login), the PAM
//! context of the login.

use std::fmt;

use pam_mfa_protocol::PamContext;

/// How far up the process tree a root peer is traced (a root shell from
/// `sudo -s` running `su` is two levels below the sudo). Every level is a
/// /proc read on the accept thread, so the walk stays short.
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
    /// login): counted against the account that logs in, or PAM_RUSER.
    Login(String),
    /// A root peer with no person behind it, before its first request (the
    /// system: sshd, login, cron).
    System,
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Person::Uid(uid) => {
                let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(*uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name);
                match name {
                    Some(n) => f.write_str(&n),
                    None => write!(f, "uid {uid}"),
                }
            }
            Person::Login(name) => f.write_str(name),
            Person::System => f.write_str("the system"),
        }
    }
}

/// The person behind a peer with SO_PEERCRED `uid` and `pid`, as far as the
/// kernel tells: cheap (a few small /proc reads), so the accept loop can
/// call it.
pub fn at_accept(uid: u32, pid: i32) -> Person {
    if uid != 0 {
        return Person::Uid(uid);
    }
    behind_root(pid).map_or(Person::System, Person::Uid)
}

/// The person a `begin` from a peer first counted as `at_accept` is for.
pub fn for_login(at_accept: &Person, context: &PamContext) -> Person {
    if *at_accept != Person::System {
        return at_accept.clone();
    }
    let name = context
        .ruser
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&context.user);
    match nix::unistd::User::from_name(name).ok().flatten() {
        Some(u) if u.uid.as_raw() != 0 => Person::Uid(u.uid.as_raw()),
        _ => Person::Login(name.to_string()),
    }
}

/// The non-root user behind a root process: its real uid (sudo and su keep
/// the invoking user's), its login uid, or the first ancestor's non-root
/// real uid.
fn behind_root(pid: i32) -> Option<u32> {
    let (ruid, mut ppid) = status_ids(pid)?;
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

/// (real uid, parent pid) from /proc/PID/status.
fn status_ids(pid: i32) -> Option<(u32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status(&text)
}

fn parse_status(text: &str) -> Option<(u32, i32)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
    };
    let ruid = field("Uid:")?.parse().ok()?;
    let ppid = field("PPid:")?.parse().ok()?;
    Some((ruid, ppid))
}

fn login_uid(pid: i32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/loginuid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_the_real_uid_and_parent() {
        let text = "Name:\tsudo\nPPid:\t4242\nUid:\t1001\t0\t0\t0\nGid:\t1001\t1001\t1001\t1001\n";
        assert_eq!(parse_status(text), Some((1001, 4242)));
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn a_non_root_peer_is_its_uid() {
        assert_eq!(at_accept(1234, 1), Person::Uid(1234));
    }

    #[test]
    fn a_root_peer_with_no_one_behind_it_is_the_system() {
        // pid 1 runs as root, has no login uid and no ancestors to trace.
        assert_eq!(at_accept(0, 1), Person::System);
    }

    #[test]
    fn a_system_login_counts_against_ruser_or_the_account() {
        let ctx = |user: &str, ruser: Option<&str>| PamContext {
            service: "sshd".into(),
            user: user.into(),
            ruser: ruser.map(Into::into),
            ..Default::default()
        };
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        assert_eq!(
            for_login(&Person::System, &ctx("nobody", None)),
            Person::Uid(nobody.uid.as_raw())
        );
        assert_eq!(
            for_login(&Person::System, &ctx("root", Some("no-such-user-x"))),
            Person::Login("no-such-user-x".into())
        );
        // A root peer traced to a local user stays that user's, whatever
        // the PAM context claims.
        assert_eq!(
            for_login(&Person::Uid(1001), &ctx("root", Some("nobody"))),
            Person::Uid(1001)
        );
    }
}
