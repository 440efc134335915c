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
        for_login(&Person::System, PamHook::Auth, &ctx("nobody", None)),
        Person::Uid(nobody.uid.as_raw())
    );
    assert_eq!(
        for_login(
            &Person::System,
            PamHook::Auth,
            &ctx("root", Some("no-such-user-x"))
        ),
        Person::Login("no-such-user-x".into())
    );
    // A root peer traced to a local user stays that user's, whatever
    // the PAM context claims.
    assert_eq!(
        for_login(
            &Person::Uid(1001),
            PamHook::Auth,
            &ctx("root", Some("nobody"))
        ),
        Person::Uid(1001)
    );
}

/// sshd's logins are told apart by what sshd authenticated: a plain key
/// by itself, a certificate by its key id under its CA, in `auth` and
/// `account` only (by `open_session` the PAM environment is not sshd's
/// alone); without one, the account as before.
#[test]
fn a_system_login_sshd_authenticated_with_a_key_is_that_keys() {
    use super::super::ssh_credential::tests::cert_line;
    let ctx = |auth_info: &str| PamContext {
        service: "sshd".into(),
        user: "no-such-user-x".into(),
        ssh_auth_info: Some(auth_info.into()),
        ..Default::default()
    };
    let key_a = "publickey ssh-ed25519 a2V5LWE=\n";
    let key_b = "publickey ssh-ed25519 a2V5LWI=\n";
    let system = |hook, info| for_login(&Person::System, hook, &ctx(info));
    let a = system(PamHook::Auth, key_a);
    assert!(
        matches!(&a, Person::LoginWith { login, credential: SshCredential::Key(_), .. }
            if login == "no-such-user-x"),
        "{a:?}"
    );
    assert_eq!(system(PamHook::Account, key_a), a);
    assert_ne!(system(PamHook::Auth, key_b), a);
    let account = Person::Login("no-such-user-x".into());
    assert_eq!(system(PamHook::OpenSession, key_a), account);
    assert_eq!(system(PamHook::Auth, "password\n"), account);
    // Two certificates of alice (each its own key) are one person; bob's
    // from the same CA is another.
    let (_, alice_1) = cert_line(1, "alice", 9);
    let (_, alice_2) = cert_line(2, "alice", 9);
    let (_, bob) = cert_line(3, "bob", 9);
    assert_eq!(
        system(PamHook::Auth, &alice_1),
        system(PamHook::Auth, &alice_2)
    );
    assert_ne!(system(PamHook::Auth, &alice_1), system(PamHook::Auth, &bob));
    assert!(system(PamHook::Auth, &alice_1)
        .to_string()
        .starts_with("no-such-user-x with the certificate of \"alice\" (CA SHA256:"));
    // sudo and su (someone behind the root peer) and non-root peers stay
    // their invoking person's, whatever the context says.
    assert_eq!(
        for_login(&Person::Uid(1001), PamHook::Auth, &ctx(key_a)),
        Person::Uid(1001)
    );
}
