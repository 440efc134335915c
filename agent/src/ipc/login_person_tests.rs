//! Whom a login counts against: the PAM context of sshd's logins and of
//! root callers' with no one behind them, and whom a tap counts against.

use super::*;
use crate::ipc::ssh_credential::SshCredential;

const SSH: Option<ServiceClass> = Some(ServiceClass::Ssh);
const ADMIN: Option<ServiceClass> = Some(ServiceClass::Admin);
const DESKTOP: Option<ServiceClass> = Some(ServiceClass::Desktop);

fn ctx(service: &str, user: &str, ruser: Option<&str>, auth_info: Option<&str>) -> PamContext {
    PamContext {
        service: service.into(),
        user: user.into(),
        ruser: ruser.map(Into::into),
        ssh_auth_info: auth_info.map(Into::into),
        ..Default::default()
    }
}

fn uid_named(name: &str) -> u32 {
    nix::unistd::User::from_name(name)
        .unwrap()
        .unwrap()
        .uid
        .as_raw()
}

#[test]
fn a_tap_counts_against_the_peer_its_invoking_user_or_whom_the_login_is_about() {
    let ctx = |user: &str, ruser: Option<&str>| ctx("login", user, ruser, None);
    let nobody = Person::Uid(uid_named("nobody"));
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
fn a_system_login_outside_ssh_counts_against_ruser_or_the_account() {
    let login = |user: &str, ruser: Option<&str>| {
        for_login(
            &Person::System,
            0,
            DESKTOP,
            PamHook::Auth,
            &ctx("login", user, ruser, None),
        )
    };
    assert_eq!(login("nobody", None), Person::Uid(uid_named("nobody")));
    assert_eq!(
        login("root", Some("no-such-user-x")),
        Person::Login("no-such-user-x".into())
    );
    assert_eq!(login("root", None), Person::Login("root".into()));
    // A root peer traced to a local user (sudo, su) stays that user's,
    // whatever the PAM context claims.
    assert_eq!(
        for_login(
            &Person::Uid(1001),
            0,
            ADMIN,
            PamHook::Auth,
            &ctx("sudo", "root", Some("nobody"), None)
        ),
        Person::Uid(1001)
    );
}

/// sshd's logins are told apart by what sshd authenticated: a plain key
/// by itself, a certificate by its key id under its CA, in `auth` and
/// `account` only (by `open_session` the PAM environment is not sshd's
/// alone); without one, the account's logins without a key.
#[test]
fn an_sshd_login_sshd_authenticated_with_a_key_is_that_keys() {
    use super::super::ssh_credential::tests::cert_line;
    let key_a = "publickey ssh-ed25519 a2V5LWE=\n";
    let key_b = "publickey ssh-ed25519 a2V5LWI=\n";
    let sshd = |hook, info: &str| {
        let ctx = ctx("sshd", "no-such-user-x", None, Some(info));
        for_login(&Person::System, 0, SSH, hook, &ctx)
    };
    let a = sshd(PamHook::Auth, key_a);
    assert!(
        matches!(&a, Person::LoginWith { login, credential: SshCredential::Key(_), .. }
            if login == "no-such-user-x"),
        "{a:?}"
    );
    assert_eq!(sshd(PamHook::Account, key_a), a);
    assert_ne!(sshd(PamHook::Auth, key_b), a);
    let without_key = Person::SshWithoutKey(None);
    assert_eq!(sshd(PamHook::OpenSession, key_a), without_key);
    assert_eq!(sshd(PamHook::Auth, "password\n"), without_key);
    // Two certificates of alice (each its own key) are one person; bob's
    // from the same CA is another.
    let (_, alice_1) = cert_line(1, "alice", 9);
    let (_, alice_2) = cert_line(2, "alice", 9);
    let (_, bob) = cert_line(3, "bob", 9);
    assert_eq!(sshd(PamHook::Auth, &alice_1), sshd(PamHook::Auth, &alice_2));
    assert_ne!(sshd(PamHook::Auth, &alice_1), sshd(PamHook::Auth, &bob));
    assert!(sshd(PamHook::Auth, &alice_1)
        .to_string()
        .starts_with("no-such-user-x with the certificate of \"alice\" (CA SHA256:"));
}

/// sshd started from an admin's login session (by hand, or by an init
/// script run there) is traced to that admin at accept: its logins are
/// still each counted by what authenticated them, never against the admin.
/// sudo and su traced to the same admin stay the admin's, and a non-root
/// peer asking about itself under sshd's service name stays itself.
#[test]
fn sshds_logins_count_by_the_login_whoever_the_sshd_process_is_traced_to() {
    let admin = Person::Uid(4242);
    let key = "publickey ssh-ed25519 a2V5LWE=\n";
    let from = |peer_uid, class, service: &str, info: Option<&str>| {
        let ctx = ctx(service, "nobody", None, info);
        for_login(&admin, peer_uid, class, PamHook::Auth, &ctx)
    };
    assert!(matches!(
        from(0, SSH, "sshd", Some(key)),
        Person::LoginWith { .. }
    ));
    let nobody = uid_named("nobody");
    assert_eq!(
        from(0, SSH, "sshd", None),
        Person::SshWithoutKey(Some(nobody))
    );
    // A configured service of the ssh class is sshd's too.
    assert_eq!(
        from(0, SSH, "sshd-bastion", None),
        Person::SshWithoutKey(Some(nobody))
    );
    assert_eq!(from(0, ADMIN, "su", Some(key)), admin);
    assert_eq!(from(0, None, "cron", None), admin);
    assert_eq!(from(4242, SSH, "sshd", Some(key)), admin);
}

/// A login sshd did not authenticate with a key counts against its
/// account apart from that account's own local user (their sudo, su and
/// screen unlock: `Uid`) and, for root, apart from root's own sudo and su
/// (`Login("root")`): unanswered key-less SSH prompts to an account leave
/// them their budgets.
#[test]
fn sshds_logins_without_a_key_have_a_person_of_their_own() {
    let sshd = |user: &str| {
        let ctx = ctx("sshd", user, None, Some("keyboard-interactive\n"));
        for_login(&Person::System, 0, SSH, PamHook::Auth, &ctx)
    };
    let nobody = uid_named("nobody");
    assert_eq!(sshd("nobody"), Person::SshWithoutKey(Some(nobody)));
    assert_eq!(sshd("root"), Person::SshWithoutKey(Some(0)));
    // nobody's screen locker, and a sudo by nobody.
    let locker = ctx("xscreensaver", "nobody", None, None);
    assert_eq!(
        for_login(
            &Person::Uid(nobody),
            nobody,
            DESKTOP,
            PamHook::Auth,
            &locker
        ),
        Person::Uid(nobody)
    );
    assert_ne!(sshd("nobody"), Person::Uid(nobody));
    // root's own `sudo -u deploy` (root behind the root peer: the system).
    let roots_sudo = ctx("sudo", "deploy", Some("root"), None);
    let roots = for_login(&Person::System, 0, ADMIN, PamHook::Account, &roots_sudo);
    assert_eq!(roots, Person::Login("root".into()));
    assert_ne!(sshd("root"), roots);
    // Names no user has share one budget: a caller cannot invent budgets.
    assert_eq!(sshd("no-such-user-x"), sshd("no-such-user-y"));
    assert_eq!(sshd("no-such-user-x"), Person::SshWithoutKey(None));
    assert_eq!(
        sshd("root").to_string(),
        "root over SSH without a key",
        "the refusal names the account and how"
    );
}

/// A session counts as its login's `auth` did: sshd's by the key recorded
/// from `auth`/`account` (the context holds it), else the account's
/// key-less person; anyone else's by the person behind the peer.
#[test]
fn a_session_counts_as_its_login_did() {
    let key = "publickey ssh-ed25519 a2V5LWE=\n";
    let me = std::process::id() as i32;
    let sshd_key = for_session(me, SSH, &ctx("sshd", "nobody", None, Some(key)));
    let auth = for_login(
        &Person::Uid(4242),
        0,
        SSH,
        PamHook::Auth,
        &ctx("sshd", "nobody", None, Some(key)),
    );
    assert_eq!(sshd_key, auth);
    assert_eq!(
        for_session(me, SSH, &ctx("sshd", "nobody", None, None)),
        Person::SshWithoutKey(Some(uid_named("nobody")))
    );
    let sudo = ctx("sudo", "root", Some("nobody"), None);
    let behind = at_accept(0, me);
    let expected = if behind == Person::System {
        Person::Uid(uid_named("nobody"))
    } else {
        behind
    };
    assert_eq!(for_session(me, ADMIN, &sudo), expected);
}
