//! Who a connection acts for: the kernel's view of peers (`person`).

use super::*;

#[test]
fn status_gives_the_real_uid_and_parent() {
    let text = "Name:\tsudo\nPPid:\t4242\nUid:\t1001\t0\t0\t0\nGid:\t1001\t1001\t1001\t1001\n";
    assert_eq!(parse_status(text.as_bytes()), Some((1001, 4242)));
    assert_eq!(parse_status(b"Name:\tx\n"), None);
    let odd_name = b"Name:\t\xff\xfesudo\nPPid:\t7\nUid:\t1001\t0\t0\t0\n";
    assert_eq!(parse_status(odd_name), Some((1001, 7)));
}

#[test]
fn the_pidfd_says_what_proc_says() {
    let me = std::process::id() as i32;
    let from_proc = proc_status_ids(me).unwrap();
    assert_eq!(status_ids(me), Some(from_proc));
    // Where the kernel has PIDFD_GET_INFO (6.13+), it gives the same.
    if let Some(from_pidfd) = super::super::pidfd::real_uid_and_parent(me) {
        assert_eq!(from_pidfd, from_proc);
    }
}

#[test]
fn a_root_peers_real_uid_is_read_only_through_its_pidfd() {
    let me = std::process::id() as i32;
    let ruid = rustix::process::getuid().as_raw();
    assert_eq!(pinned_real_uid_of(me), Some(ruid));
    // No pidfd: nothing read by pid alone is trusted.
    assert_eq!(at_accept_pinned(0, me, None).real_uid, None);
    // A non-root peer's real uid is not asked for.
    assert_eq!(at_accept_pinned(1000, me, None).real_uid, None);
}

#[test]
fn a_non_root_peer_is_its_uid_and_a_uid_no_one_has_is_unknown() {
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let uid = nobody.uid.as_raw();
    assert_eq!(at_accept(uid, 1), Person::Uid(uid));
    // No user, and (on any sane host) in no one's subordinate range.
    assert_eq!(at_accept(u32::MAX - 7, 1), Person::Unknown);
}

#[test]
fn a_named_uid_is_itself_even_inside_a_subordinate_range() {
    let some = |o: &str| {
        let o = o.to_string();
        move || Some(o)
    };
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    // LXD's root:1000000:1000000000 covers directory users' uids.
    assert_eq!(
        person_for_uid(1_234_567, true, some("root")),
        Person::Uid(1_234_567)
    );
    assert_eq!(
        person_for_uid(100_005, true, some("nobody")),
        Person::Uid(100_005)
    );
    // A uid no user has: its range's owner, never root.
    assert_eq!(
        person_for_uid(100_005, false, some("nobody")),
        Person::Uid(nobody.uid.as_raw())
    );
    assert_eq!(
        person_for_uid(1_234_567, false, some("root")),
        Person::Unknown
    );
    assert_eq!(person_for_uid(1_234_567, false, some("0")), Person::Unknown);
    assert_eq!(person_for_uid(7, false, || None), Person::Unknown);
}

#[test]
fn a_root_peer_with_no_one_behind_it_is_the_system() {
    // pid 1 runs as root, has no login uid and no ancestors to trace.
    assert_eq!(at_accept(0, 1), Person::System);
}

/// Writes `text` (a uid's decimal digits) to /proc/self/loginuid with
/// open, write and close only: safe between fork and exec.
fn write_login_uid(text: &[u8]) -> std::io::Result<()> {
    // SAFETY: a NUL-terminated literal path; `text` outlives the write.
    unsafe {
        let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let written = libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        if written < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A `sleep` with real uid `ruid` (effective uid 0) and, when given, login
/// uid `login_uid`, pinned by its pidfd; `None` where this process may not
/// set them (not root, or no audit control).
fn root_process(ruid: u32, login_uid: Option<u32>) -> Option<(std::process::Child, OwnedFd)> {
    use std::os::unix::process::CommandExt;
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("30");
    // Formatted here: the child may not allocate between fork and exec
    // (another thread of this test binary may hold the allocator's lock).
    let login_uid_text: Option<Vec<u8>> = login_uid.map(|l| l.to_string().into_bytes());
    // SAFETY: the closure only calls open, write, close and setresuid
    // (async-signal-safe) on a NUL-terminated literal path and the bytes
    // formatted above; it allocates nothing and touches no other Rust
    // state, and an error it returns (`last_os_error`) allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(text) = &login_uid_text {
                write_login_uid(text)?;
            }
            if libc::setresuid(ruid, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().ok()?;
    let pid = rustix::process::Pid::from_raw(child.id() as i32)?;
    let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?;
    Some((child, fd))
}

/// sshd started from an admin's login session carries the admin's login
/// uid: such a root peer is that admin's person, but its connection
/// counts as the system's until its first request says whose it is. sudo
/// run by the admin (the admin's own real uid) counts as the admin's from
/// the start.
#[test]
fn a_root_peer_traced_by_its_login_uid_counts_as_the_system_until_it_asks() {
    let Some((mut daemon, pinned)) = root_process(0, Some(4242)) else {
        eprintln!("skipped: cannot start a root process with a login uid here");
        return;
    };
    let accepted = at_accept_pinned(0, daemon.id() as i32, Some(&pinned));
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(
        accepted,
        Accepted {
            person: Person::Uid(4242),
            real_uid: Some(0),
            counted_as: Person::System,
        }
    );
    let (mut sudo, pinned) = root_process(4242, None).expect("a sudo-like process");
    let accepted = at_accept_pinned(0, sudo.id() as i32, Some(&pinned));
    let _ = sudo.kill();
    let _ = sudo.wait();
    assert_eq!(
        accepted,
        Accepted {
            person: Person::Uid(4242),
            real_uid: Some(4242),
            counted_as: Person::Uid(4242),
        }
    );
}
