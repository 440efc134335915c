//! The challenge prompt in-process: a challenge when there is no evidence,
//! limited tries, expiry and cancel, no challenge without a registered key,
//! a locked device's answer refused.

use std::time::Duration;

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::conversation::{answer, cancel};
use super::flow_tests::{bundle, prompt_text, Fixture, UserProcess};
use super::tap::Step;
use crate::challenge::find_challenge;

#[test]
fn auth_without_evidence_gets_a_challenge_and_limited_tries() {
    let f = Fixture::new(&bundle("true", ""), "challenge:\n  tries: 2\n");
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    let first = find_challenge(&prompt_text(&prompt)).expect("the prompt carries a challenge");
    assert_eq!(
        (first.node.as_str(), first.login.as_str()),
        ("prod3", "root")
    );
    // A wrong answer: a fresh challenge and the reason, one try fewer (not
    // a refusal, so not the end of the tries).
    let Step::Ask(conv, again) = answer(&f.state, conv, &["hello".into()]) else {
        panic!("a second try")
    };
    let text = prompt_text(&again);
    assert!(
        text.contains("not a pam-mfa answer") && text.contains("1 left"),
        "{text}"
    );
    assert_ne!(
        find_challenge(&text).unwrap().text,
        first.text,
        "every try gets a new challenge"
    );
    // A key that is not registered: the last try is used up, and the deny
    // says so (the module returns PAM_MAXTRIES: sshd asks no more).
    let foreign = format!(
        "sk1.{}.AAAA",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [9u8; 32])
    );
    match answer(&f.state, conv, &[foreign]) {
        Step::Done(ResponseBody::Deny {
            message,
            tries_spent,
        }) => {
            assert!(
                message.contains("not registered") && message.contains("no tries left"),
                "{message}"
            );
            assert!(tries_spent, "the last try is spent: {message}");
        }
        _ => panic!("out of tries must deny"),
    }
}

#[test]
fn expired_challenges_and_cancel_are_refused() {
    let f = Fixture::new(&bundle("true", ""), "challenge:\n  ttl: 30s\n  tries: 1\n");
    let Step::Ask(conv, _) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    f.advance(Duration::from_secs(31));
    match answer(&f.state, conv, &["sk1.x.y".into()]) {
        Step::Done(ResponseBody::Deny {
            message,
            tries_spent,
        }) => {
            assert!(message.contains("expired"), "{message}");
            assert!(tries_spent, "an expired answer spends the only try");
        }
        _ => panic!("an expired challenge must deny"),
    }
    // Giving up spends no try: a plain deny.
    let Step::Ask(conv, _) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    assert!(matches!(
        cancel(&f.state, conv),
        ResponseBody::Deny {
            tries_spent: false,
            ..
        }
    ));
}

#[test]
fn no_registered_key_means_no_challenge() {
    let policy = bundle("true", "").replace("kind: mfa_device", "kind: mfa_device_disabled");
    let f = Fixture::new(&policy, "");
    match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Done(ResponseBody::Deny {
            message,
            tries_spent,
        }) => {
            assert!(message.contains("no registered security key"), "{message}");
            assert!(!tries_spent, "no tap was started: no try was spent");
        }
        _ => panic!("nothing to challenge"),
    }
}

#[test]
fn a_locked_device_cannot_answer() {
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {mfa_device: alice-key}\n";
    let f = Fixture::new(&bundle("true", lock), "");
    match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Done(ResponseBody::Deny { message, .. }) => {
            assert!(message.contains("no registered security key"), "{message}")
        }
        _ => panic!("the only key is locked: nothing to challenge"),
    }
}

/// `fail_mode: open` past `max_staleness`: the policy is unknown and the
/// module is told so, but a lock of the last known policy still denies, as
/// Teleport's best_effort keeps using the last lock set it saw.
#[test]
fn fail_open_keeps_the_last_known_locks() {
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {login: root}\n  message: incident 7\n";
    for (extra, locked) in [("", false), (lock, true)] {
        let f = Fixture::new(&bundle("true", extra), "fail_mode: open\n");
        let now = f.state.now();
        f.state
            .store
            .record_contact(now - Duration::from_secs(25 * 3600));
        match f.begin(PamHook::Auth, None, "10.0.0.1") {
            Step::Done(ResponseBody::Deny { message, .. }) if locked => {
                assert!(message.contains("incident 7"), "{message}")
            }
            Step::Done(ResponseBody::Unavailable { message }) if !locked => {
                assert!(message.starts_with("pam-mfa: "), "{message}")
            }
            Step::Done(r) => panic!("locked {locked}: {r:?}"),
            Step::Ask(..) => panic!("locked {locked}: no challenge on an unknown policy"),
        }
    }
}

/// sudo with NOPASSWD runs no auth stack, so no tap was asked there: its
/// account hook asks for it (a wrong allow before, with pam_mfa.so only in
/// auth). sshd's account phase has no conversation: it never prompts.
#[test]
fn account_outside_ssh_asks_for_the_tap_that_auth_did_not() {
    // sudo run by a user (its real uid), as the kernel shows it.
    let Some(user) = UserProcess::start() else {
        return;
    };
    // The challenge prompt (no key attached to this host to tap).
    let f = Fixture::new(&bundle("true", ""), "attached_keys:\n  enabled: false\n");
    // The invoking user's login (PAM_RUSER, the name of its real uid) is
    // root, alice's.
    caller_named_root();
    let step = f.begin_service_from("sudo", PamHook::Account, user.pid(), Some("root"));
    let Step::Ask(conv, prompt) = step else {
        let Step::Done(body) = step else {
            unreachable!()
        };
        panic!("sudo's account hook with no tap must ask for one: {body:?}")
    };
    assert!(find_challenge(&prompt_text(&prompt)).is_some());
    assert!(matches!(cancel(&f.state, conv), ResponseBody::Deny { .. }));
    assert!(matches!(
        f.begin(PamHook::Account, None, "10.0.0.1"),
        Step::Done(ResponseBody::Deny { .. })
    ));
    // Where the policy asks for nothing, account allows at once.
    let f = Fixture::new(&bundle("false", ""), "");
    assert!(matches!(
        f.begin_service_from("sudo", PamHook::Account, user.pid(), Some("root")),
        Step::Done(ResponseBody::Allow { .. })
    ));
}

/// sudo run by root itself (real uid 0: cron, scripts, an admin's root
/// shell; sudo sets PAM_RUSER to the invoking user, root) runs only the
/// account stack: root needs no tap to become anyone (as su's pam_rootok),
/// with a policy or without, where the same sudo run by a user is asked
/// for one.
#[test]
fn sudo_invoked_by_root_is_allowed_in_account() {
    let Some(user) = UserProcess::start() else {
        return;
    };
    let f = Fixture::new(&bundle("true", ""), "attached_keys:\n  enabled: false\n");
    // pid 1 (init) runs with real uid 0.
    let root = Some("root");
    caller_named_root();
    assert!(matches!(
        f.begin_service_from("sudo", PamHook::Account, 1, root),
        Step::Done(ResponseBody::Allow { .. })
    ));
    assert!(matches!(
        f.begin_service_from("sudo", PamHook::Account, user.pid(), root),
        Step::Ask(..)
    ));
    // Only the account hook: auth is where a person proves who they are.
    assert!(matches!(
        f.begin_service_from("sudo", PamHook::Auth, 1, root),
        Step::Ask(..)
    ));
}

/// A PAM service the map does not name gets the admin rules, and every
/// network daemon (cockpit, xrdp, vsftpd, an sshd under another name) runs
/// with real uid 0: its `account` line must be decided by the policy, never
/// let through as root's own sudo, whatever PAM_RUSER says (a login that
/// skipped auth, a locked person's too).
#[test]
fn an_unmapped_service_of_a_root_daemon_is_decided_by_the_policy() {
    let f = Fixture::new(&bundle("true", ""), "attached_keys:\n  enabled: false\n");
    for ruser in [None, Some("root")] {
        let step = f.begin_service_from("cockpit", PamHook::Account, 1, ruser);
        assert!(
            matches!(step, Step::Ask(..)),
            "ruser {ruser:?}: a tap is due"
        );
    }
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {login: root}\n  message: incident 9\n";
    let f = Fixture::new(&bundle("true", lock), "attached_keys:\n  enabled: false\n");
    for ruser in [None, Some("root")] {
        match f.begin_service_from("cockpit", PamHook::Account, 1, ruser) {
            Step::Done(ResponseBody::Deny { message, .. }) => {
                assert!(message.contains("incident 9"), "{message}")
            }
            _ => panic!("ruser {ruser:?}: the lock must deny"),
        }
    }
    // The same mapped to the admin class is root's own again.
    let f = Fixture::new(
        &bundle("true", ""),
        "attached_keys:\n  enabled: false\nservices:\n  cockpit: admin\n",
    );
    assert!(matches!(
        f.begin_service_from("cockpit", PamHook::Account, 1, Some("root")),
        Step::Done(ResponseBody::Allow { .. })
    ));
}

/// Root's sudo is known by PAM_RUSER too: a root process (real uid 0)
/// running sudo's account stack for alice (su from a root shell she
/// reached names her: util-linux su's `xgetlogin`) is decided for her.
/// Without PAM_RUSER (sudo's `!pam_ruser`), or with another name of uid
/// 0, it is root's own.
#[test]
fn a_mapped_sudo_for_another_invoking_user_is_not_roots_own() {
    let f = Fixture::new(&bundle("true", ""), "attached_keys:\n  enabled: false\n");
    let step = f.begin_service_from("sudo", PamHook::Account, 1, Some("alice"));
    assert!(
        !matches!(step, Step::Done(ResponseBody::Allow { .. })),
        "ruser alice was let through as root"
    );
    crate::host_accounts::PASSWD
        .with(|p| *p.borrow_mut() = Some(vec![("toor".into(), 0), ("root".into(), 0)]));
    for ruser in [None, Some(""), Some("toor")] {
        let step = f.begin_service_from("sudo", PamHook::Account, 1, ruser);
        assert!(
            matches!(step, Step::Done(ResponseBody::Allow { .. })),
            "ruser {ruser:?}: root's own sudo"
        );
    }
    crate::host_accounts::PASSWD.with(|p| *p.borrow_mut() = None);
    // A real uid not read through the pidfd pinned at accept (the pid may
    // name another process by now) is no proof.
    let ctx = pam_mfa_protocol::PamContext {
        service: "sudo".into(),
        user: "root".into(),
        ruser: Some("root".into()),
        ..Default::default()
    };
    let unpinned = super::verdict::PeerIds {
        pid: 1,
        uid: 0,
        real_uid: None,
    };
    let step = super::flow::handle_begin(&f.state, unpinned, PamHook::Account, &ctx, Ok(()));
    assert!(!matches!(step, Step::Done(ResponseBody::Allow { .. })));
}

/// In these tests the user process (real uid 65534) is named root, the
/// login alice is given: PAM_RUSER must name the caller's real uid.
fn caller_named_root() {
    crate::host_accounts::PASSWD.with(|p| *p.borrow_mut() = Some(vec![("root".into(), 65534)]));
}
