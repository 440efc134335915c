//! The login the policy is asked about: the invoking user of an admin
//! action by PAM_RUSER or the caller's real uid (never PAM_USER, which
//! sudo's `rootpw`/`targetpw` with `!pam_ruser` sets to root or the
//! target), and another name of the login's uid when that is the cluster
//! login: a passwd entry of that uid, the name a case-insensitive directory
//! gives the login, the uid's own name.

use std::time::SystemTime;

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::flow::handle_begin;
use super::flow_tests::Fixture;
use super::policy_login::{policy_login, uid_alias, AliasOf};
use super::tap::Step;
use super::verdict::PeerIds;
use crate::host_accounts::{DIRECTORY, PASSWD, UNANSWERED_UIDS};
use crate::policy::load_bundle_str;
use crate::policy::ServiceClass;

/// The passwd database the test sees, as (name, uid), with no directory.
fn passwd(entries: &[(&str, u32)]) {
    let entries = entries.iter().map(|(n, u)| (n.to_string(), *u)).collect();
    PASSWD.with(|p| *p.borrow_mut() = Some(entries));
    directory(&[]);
}

/// A directory after the passwd files, as (name, uid): getpwnam finds its
/// names in any case and getpwuid its uids, getpwent lists none of them
/// (sssd with `case_sensitive = false`).
fn directory(entries: &[(&str, u32)]) {
    let entries = entries.iter().map(|(n, u)| (n.to_string(), *u)).collect();
    DIRECTORY.with(|d| *d.borrow_mut() = entries);
}

fn sudo(user: &str, ruser: Option<&str>) -> PamContext {
    PamContext {
        service: "sudo".into(),
        user: user.into(),
        ruser: ruser.map(Into::into),
        ..Default::default()
    }
}

fn root_peer(real_uid: Option<u32>) -> PeerIds {
    PeerIds {
        pid: 7,
        uid: 0,
        real_uid,
    }
}

#[test]
fn an_admin_action_is_the_invoking_users_by_ruser_when_set() {
    passwd(&[("root", 0), ("rvbj", 1001)]);
    let login = policy_login(
        ServiceClass::Admin,
        &sudo("root", Some("rvbj")),
        root_peer(None),
    );
    assert_eq!(login.as_deref(), Ok("rvbj"));
}

#[test]
fn without_ruser_an_admin_action_is_the_real_uids_never_pam_user() {
    passwd(&[("root", 0), ("rvbj", 1001)]);
    for ruser in [None, Some("")] {
        let ctx = sudo("root", ruser);
        let login = policy_login(ServiceClass::Admin, &ctx, root_peer(Some(1001)));
        assert_eq!(login.as_deref(), Ok("rvbj"), "ruser {ruser:?}");
    }
    // A non-root caller (a screen locker under an unmapped service) is its
    // own uid.
    let peer = PeerIds {
        pid: 7,
        uid: 1001,
        real_uid: None,
    };
    let login = policy_login(ServiceClass::Admin, &sudo("rvbj", None), peer);
    assert_eq!(login.as_deref(), Ok("rvbj"));
}

#[test]
fn an_unknown_or_nameless_real_uid_is_refused() {
    passwd(&[("root", 0), ("rvbj", 1001)]);
    let ctx = sudo("root", None);
    let unread = policy_login(ServiceClass::Admin, &ctx, root_peer(None)).unwrap_err();
    assert!(unread.contains("could not be read"), "{unread}");
    let nameless = policy_login(ServiceClass::Admin, &ctx, root_peer(Some(4242))).unwrap_err();
    assert!(
        nameless.contains("real uid 4242 has no user name"),
        "{nameless}"
    );
}

#[test]
fn roots_own_caller_and_other_classes_keep_pam_user() {
    passwd(&[("root", 0), ("rvbj", 1001)]);
    // Real uid root: root's own sudo, or a daemon logging rvbj in.
    let login = policy_login(ServiceClass::Admin, &sudo("rvbj", None), root_peer(Some(0)));
    assert_eq!(login.as_deref(), Ok("rvbj"));
    for class in [ServiceClass::Ssh, ServiceClass::Desktop] {
        let ctx = sudo("rvbjops", Some("rvbj"));
        let login = policy_login(class, &ctx, root_peer(Some(1001)));
        assert_eq!(login.as_deref(), Ok("rvbjops"));
    }
}

/// rvbj (traits logins [rvbj]) and ops (logins [ops]) with session MFA on
/// env=prod; the cap asks for nothing.
fn policy() -> String {
    "kind: role\nversion: v7\nmetadata: {name: prod}\nspec:\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: prod}\n  options:\n    require_session_mfa: true\n---\n\
     kind: user\nversion: v2\nmetadata: {name: rvbj}\nspec:\n  roles: [prod]\n  traits:\n    logins: [rvbj]\n---\n\
     kind: user\nversion: v2\nmetadata: {name: ops}\nspec:\n  roles: [prod]\n  traits:\n    logins: [ops]\n"
        .to_owned()
}

#[test]
fn another_name_of_the_uid_that_is_a_cluster_login_decides() {
    let bundle = load_bundle_str(&policy(), "test.yaml").unwrap();
    let now = SystemTime::now();
    passwd(&[("rvbjops", 1001), ("rvbj", 1001), ("loner", 1002)]);
    match uid_alias(&bundle, "rvbjops", now) {
        AliasOf::Cluster { login, note } => {
            assert_eq!(login, "rvbj");
            assert!(
                note.contains("uid 1001 is also cluster login rvbj"),
                "{note}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(uid_alias(&bundle, "rvbj", now), AliasOf::Itself);
    assert_eq!(uid_alias(&bundle, "loner", now), AliasOf::Itself);
    assert_eq!(uid_alias(&bundle, "nobody-here", now), AliasOf::Itself);
    passwd(&[("rvbjops", 1001), ("rvbj", 1001), ("ops", 1001)]);
    match uid_alias(&bundle, "rvbjops", now) {
        AliasOf::Several { note } => assert!(note.contains("rvbj, ops"), "{note}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_name_a_case_insensitive_directory_gives_the_login_decides() {
    let bundle = load_bundle_str(&policy(), "test.yaml").unwrap();
    let now = SystemTime::now();
    passwd(&[("root", 0), ("daemon", 1)]);
    directory(&[("rvbj", 47011), ("svc", 47012)]);
    // sshd hands PAM `RVBJ` as typed; getpwnam answers with rvbj.
    match uid_alias(&bundle, "RVBJ", now) {
        AliasOf::Cluster { login, note } => {
            assert_eq!(login, "rvbj");
            assert!(
                note.contains(
                    "login RVBJ is no cluster login, but its uid 47011 is also cluster login rvbj"
                ),
                "{note}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(uid_alias(&bundle, "rvbj", now), AliasOf::Itself);
    // A uid with no cluster name, root's and system accounts' among them,
    // stays itself whatever the spelling.
    for login in ["SVC", "svc", "root", "daemon", "nobody-here"] {
        assert_eq!(uid_alias(&bundle, login, now), AliasOf::Itself, "{login}");
    }
}

#[test]
fn the_uids_own_name_decides_when_the_directory_does_not_enumerate() {
    let bundle = load_bundle_str(&policy(), "test.yaml").unwrap();
    let now = SystemTime::now();
    // getpwuid(1001) answers rvbj; getpwent lists neither.
    passwd(&[("root", 0)]);
    directory(&[("rvbj", 1001), ("rvbjops", 1001)]);
    match uid_alias(&bundle, "rvbjops", now) {
        AliasOf::Cluster { login, .. } => assert_eq!(login, "rvbj"),
        other => panic!("{other:?}"),
    }
    // The database's name of the login (ops) and the uid's (rvbj, the
    // files' entry) are two cluster logins: refused.
    passwd(&[("rvbj", 1001)]);
    directory(&[("ops", 1001)]);
    match uid_alias(&bundle, "OPS", now) {
        AliasOf::Several { note } => assert!(note.contains("ops, rvbj"), "{note}"),
        other => panic!("{other:?}"),
    }
}

fn ssh_fixture() -> Fixture {
    Fixture::new(&policy(), "attached_keys:\n  enabled: false\n")
}

fn reason_of(step: Step) -> (bool, String) {
    match step {
        Step::Done(ResponseBody::Allow { .. }) => (true, String::new()),
        Step::Done(ResponseBody::Deny { message, .. }) => (false, message),
        Step::Ask(..) => (false, "asked for a tap".into()),
        Step::Done(other) => panic!("{other:?}"),
    }
}

/// sshd's account hook (a root peer) for `login`: whether it was allowed,
/// and why not.
fn sshd_account(f: &Fixture, login: &str) -> (bool, String) {
    let ctx = PamContext {
        service: "sshd".into(),
        user: login.into(),
        rhost: Some("10.0.0.9".into()),
        ..Default::default()
    };
    reason_of(handle_begin(
        &f.state,
        root_peer(Some(0)),
        PamHook::Account,
        &ctx,
        Ok(()),
    ))
}

#[test]
fn an_ssh_login_to_an_alias_of_a_cluster_login_is_decided_as_it() {
    let f = ssh_fixture();
    passwd(&[("loner", 1002)]);
    assert!(
        sshd_account(&f, "rvbjops").0,
        "an unknown login gets the cap's (off)"
    );
    passwd(&[("rvbjops", 1001), ("rvbj", 1001)]);
    let (allowed, message) = sshd_account(&f, "rvbjops");
    assert!(!allowed, "rvbj's session MFA applies: {message}");
    passwd(&[("rvbjops", 1001), ("rvbj", 1001), ("ops", 1001)]);
    let (allowed, message) = sshd_account(&f, "rvbjops");
    assert!(
        !allowed && message.contains("several cluster logins"),
        "{message}"
    );
}

#[test]
fn an_ssh_login_typed_in_another_case_is_decided_as_the_directorys_name() {
    let f = ssh_fixture();
    passwd(&[("root", 0)]);
    directory(&[("rvbj", 47011)]);
    let (allowed, message) = sshd_account(&f, "RVBJ");
    assert!(!allowed, "rvbj's session MFA applies: {message}");
    directory(&[("svc", 47012)]);
    assert!(
        sshd_account(&f, "SVC").0,
        "a login of no cluster name gets the cap's (off)"
    );
}

/// rvbjops (uid 1001, no cluster login) while the directory, which names
/// uid 1001 rvbj, does not answer for that uid: refused.
fn refused_while_the_directory_is_silent(f: &Fixture) {
    passwd(&[("rvbjops", 1001)]);
    directory(&[("rvbj", 1001)]);
    UNANSWERED_UIDS.with(|u| *u.borrow_mut() = vec![1001]);
    let (allowed, message) = sshd_account(f, "rvbjops");
    UNANSWERED_UIDS.with(|u| u.borrow_mut().clear());
    assert!(!allowed && message.contains("did not answer"), "{message}");
}

#[test]
fn a_directory_that_does_not_answer_for_the_uid_refuses_the_login() {
    let f = ssh_fixture();
    refused_while_the_directory_is_silent(&f);
    // Answered, and no name of the uid is a cluster login: the cap's.
    directory(&[]);
    assert!(sshd_account(&f, "rvbjops").0);
}

/// The same with the policy out of date and `fail_mode: open`: the last
/// known locks are still looked up, and a uid the directory did not name
/// could be a locked cluster login's: refused, never the unknown policy's
/// "unavailable" (which the module turns into PAM_IGNORE).
#[test]
fn fail_open_with_a_directory_that_does_not_answer_refuses_the_login() {
    let f = Fixture::new(
        &policy(),
        "attached_keys:\n  enabled: false\nfail_mode: open\n",
    );
    let now = f.state.now();
    f.state
        .store
        .record_contact(now - std::time::Duration::from_secs(25 * 3600));
    refused_while_the_directory_is_silent(&f);
}

#[test]
fn sudo_without_ruser_is_decided_for_the_real_uids_name() {
    let f = ssh_fixture();
    passwd(&[("root", 0), ("rvbj", 1001)]);
    // sudo with `rootpw, !pam_ruser`: PAM_USER root, no PAM_RUSER.
    let ctx = sudo("root", None);
    // rvbj's session MFA applies (rvbj has no key to tap: refused), not
    // root's nothing.
    let step = handle_begin(&f.state, root_peer(Some(1001)), PamHook::Auth, &ctx, Ok(()));
    let (allowed, message) = reason_of(step);
    assert!(!allowed && message.contains("rvbj"), "{message}");
    let step = handle_begin(&f.state, root_peer(None), PamHook::Auth, &ctx, Ok(()));
    let (allowed, message) = reason_of(step);
    assert!(!allowed && message.contains("invoking user"), "{message}");
    // Root's own (real uid 0): root is no cluster login, the cap's applies.
    let step = handle_begin(&f.state, root_peer(Some(0)), PamHook::Auth, &ctx, Ok(()));
    assert!(reason_of(step).0);
}
