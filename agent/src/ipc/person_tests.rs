//! Who a connection acts for, and whom a tap counts against: the kernel's
//! view of peers (`person`), and the PAM context of root callers' logins.

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
    assert_eq!(at_accept_pinned(0, me, None).1, None);
    // A non-root peer's real uid is not asked for.
    assert_eq!(at_accept_pinned(1000, me, None).1, None);
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

#[test]
fn a_tap_counts_against_the_peer_its_invoking_user_or_whom_the_login_is_about() {
    let ctx = |user: &str, ruser: Option<&str>| PamContext {
        service: "login".into(),
        user: user.into(),
        ruser: ruser.map(Into::into),
        ..Default::default()
    };
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let nobody = Person::Uid(nobody.uid.as_raw());
    // A screen locker running as the user.
    assert_eq!(for_tap(1001, None, &ctx("nobody", None)), Person::Uid(1001));
    // sudo run by uid 1001, whatever PAM_RUSER says.
    assert_eq!(
        for_tap(0, Some(1001), &ctx("root", Some("nobody"))),
        Person::Uid(1001)
    );
    // A greeter (root, no one behind it): the account logging in.
    assert_eq!(for_tap(0, Some(0), &ctx("nobody", None)), nobody);
    assert_eq!(for_tap(0, None, &ctx("root", Some("nobody"))), nobody);
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
