//! `mfactl explain`'s decision in words: an allowed login that needs MFA
//! but that no tap can answer says it will be refused (the reason doctor
//! reports too), whether it is a login of nobody, of several users none of
//! whom has a device, or of one user without one.

use std::collections::BTreeMap;
use std::time::SystemTime;

use pam_mfa_protocol::{ExplainQuery, Explanation};

use super::explain::{explain, nobody_can_tap, NOBODY_CAN_TAP};
use crate::config::ServiceMap;
use crate::policy::{load_bundle_str, Bundle, NodeInfo};

/// `mfactl explain --login LOGIN [--user USER] --service SERVICE` on prod3
/// [env=prod].
fn ask_as(bundle: &Bundle, login: &str, user: Option<&str>, service: &str) -> Explanation {
    let node = NodeInfo {
        name: "prod3".into(),
        id: None,
        labels: [("env".to_string(), "prod".to_string())].into(),
    };
    let q = ExplainQuery {
        login: login.into(),
        user: user.map(Into::into),
        service: Some(service.into()),
    };
    let services = ServiceMap::new(&BTreeMap::new()).unwrap();
    explain(bundle, &node, &services, &q, SystemTime::now(), false)
}

fn ask(bundle: &Bundle, login: &str, service: &str) -> Explanation {
    ask_as(bundle, login, None, service)
}

fn nobody_note(e: &Explanation) -> Option<&String> {
    e.reasons.iter().find(|r| r.starts_with(NOBODY_CAN_TAP))
}

const SK_KEY: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIC0F/LJRSd23qXKZ9xHqOm9z6D8ciF5N9g+7iIaEJfEkAAAABHNzaDo=";

/// An `mfa_device` document registering a security key for `user`.
fn device_of(user: &str) -> String {
    format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: {user}-key}}\nspec:\n  user: {user}\n  ssh_sk:\n    public_key: \"{SK_KEY} {user}@laptop\"\n"
    )
}

/// A cluster that requires MFA of every session, a role that gives
/// `deploy` on prod to jerry and olga, each their own login.
fn deploy_bundle(devices: &str) -> Bundle {
    let text = format!(
        "kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec: {{require_session_mfa: true}}\n\
         ---\nkind: role\nversion: v7\nmetadata: {{name: deployers}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}', deploy]\n    node_labels: {{env: prod}}\n\
         ---\nkind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec: {{roles: [deployers], traits: {{logins: [jerry]}}}}\n\
         ---\nkind: user\nversion: v2\nmetadata: {{name: olga}}\nspec: {{roles: [deployers], traits: {{logins: [olga]}}}}\n{devices}"
    );
    load_bundle_str(&text, "t.yaml").unwrap()
}

/// The built-in example (jerry: session MFA on prod), with `extra`.
fn example(extra: &str) -> Bundle {
    load_bundle_str(
        &format!("{}{extra}", crate::state::BUILTIN_EXAMPLE),
        "example",
    )
    .unwrap()
}

/// A login that is no cluster user's, under a cluster-wide
/// requirement: `decide` allows (host authentication applies), but
/// nobody's key can answer, so explain says the login will be refused.
#[test]
fn a_login_of_nobody_that_needs_mfa_will_be_refused() {
    let b = deploy_bundle("");
    let e = ask(&b, "svc-backup", "sudo");
    assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
    let note = nobody_note(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
    assert!(
        note.contains("login svc-backup is not a cluster user's")
            && note.contains("will be refused (give the login to a cluster user"),
        "{note}"
    );
    // Over SSH a Teleport certificate could still name the person.
    let e = ask(&b, "svc-backup", "sshd");
    let note = nobody_note(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
    assert!(
        note.contains("unless a Teleport certificate names the person"),
        "{note}"
    );
    // No requirement: nothing to answer, nothing said.
    let off = load_bundle_str(
        "kind: cluster_auth_preference\nversion: v2\nmetadata: {name: c}\nspec: {require_session_mfa: false}\n",
        "off.yaml",
    )
    .unwrap();
    assert_eq!(nobody_note(&ask(&off, "svc-backup", "sudo")), None);
}

/// A shared login (a role gives `deploy` to jerry and olga): a tap
/// says who logs in, but only when one of them has a registered key.
#[test]
fn a_shared_login_whose_users_have_no_device_will_be_refused() {
    let e = ask(&deploy_bundle(""), "deploy", "sudo");
    assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
    assert_eq!(e.candidates, ["jerry", "olga"]);
    let note = nobody_note(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
    assert!(
        note.contains("none of the cluster users it may be (jerry, olga) has a registered device"),
        "{note}"
    );
    let e = ask(&deploy_bundle(&device_of("olga")), "deploy", "sudo");
    assert_eq!(nobody_note(&e), None, "{:?}", e.reasons);
}

/// The reviewer's lockout: the example policy on prod3, jerry's sudo.
/// jerry is one known cluster user, with no registered device: sudo asks
/// for a fresh tap that nobody can give, so it is refused, and explain
/// (and doctor, which reads the same reason) must say so, once.
#[test]
fn one_user_without_a_device_will_be_refused_outside_ssh() {
    for service in ["sudo", "su", "login"] {
        let e = ask(&example(""), "jerry", service);
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        assert_eq!(e.user.as_deref(), Some("jerry"));
        let note = nobody_can_tap(&e).unwrap_or_else(|| panic!("{service}: {:?}", e.reasons));
        assert_eq!(
            note,
            "nobody can tap for this login: jerry has no registered device (mfa_device) in this policy, so no tap can answer the session requirement and the login will be refused (`mfactl enroll` a key for jerry)"
        );
        // One note, not a second one saying the same in other words.
        let about_devices = e
            .reasons
            .iter()
            .filter(|r| r.contains("no registered device"))
            .count();
        assert_eq!(about_devices, 1, "{:?}", e.reasons);
    }
}

/// Over SSH a Teleport certificate naming jerry can satisfy the
/// requirement (login/satisfy.rs `by_certificate`): the note says so, and
/// what the certificate must show.
#[test]
fn one_user_without_a_device_over_ssh_is_refused_unless_a_certificate_names_them() {
    let e = ask(&example(""), "jerry", "sshd");
    assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
    let note = nobody_can_tap(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
    assert_eq!(
        note,
        "nobody can tap for this login: jerry has no registered device (mfa_device) in this policy, so no tap can answer the session requirement and the login will be refused unless a Teleport certificate names the person (and meets the requirement: it shows the MFA check (mfa-verified)) (`mfactl enroll` a key for jerry)"
    );
    let text = crate::ctl::render(&e);
    assert!(
        text.contains("  access:       allow by the policy, but nobody can tap for it: it will be refused unless a Teleport certificate names the person (see below)\n"),
        "{text}"
    );
}

/// jerry with a registered key: the tap can be given, nothing is said,
/// and the access line is plain.
#[test]
fn one_user_with_a_device_is_not_said_to_be_refused() {
    let b = example(&device_of("jerry"));
    for service in ["sudo", "sshd"] {
        let e = ask(&b, "jerry", service);
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        assert_eq!(nobody_can_tap(&e), None, "{service}: {:?}", e.reasons);
        assert!(
            !e.reasons.iter().any(|r| r.contains("no registered device")),
            "{service}: {:?}",
            e.reasons
        );
        assert!(
            crate::ctl::render(&e).contains("  access:       allow\n"),
            "{}",
            crate::ctl::render(&e)
        );
    }
}

/// No requirement (jerry on a dev node of the example, where no role
/// asks for MFA), or a denied login: nothing for a tap to answer, and
/// nothing said, device or not.
#[test]
fn one_user_without_a_device_is_not_flagged_when_nothing_is_required_or_denied() {
    let node = NodeInfo {
        name: "dev1".into(),
        id: None,
        labels: [("env".to_string(), "dev".to_string())].into(),
    };
    let services = ServiceMap::new(&BTreeMap::new()).unwrap();
    for service in ["sudo", "sshd"] {
        let q = ExplainQuery {
            login: "jerry".into(),
            user: None,
            service: Some(service.into()),
        };
        let e = explain(&example(""), &node, &services, &q, SystemTime::now(), false);
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "off"));
        assert_eq!(nobody_note(&e), None, "{service}: {:?}", e.reasons);
    }
    // A lock on jerry: denied, and the denial says why.
    let lock =
        "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {user: jerry}\n";
    let e = ask(&example(lock), "jerry", "sudo");
    assert_eq!(e.access, "deny");
    assert_eq!(nobody_note(&e), None, "{:?}", e.reasons);
}

/// A user the bundle does not hold (`--user ghost`: a certificate or a
/// key may name them) under the cluster's requirement: their device
/// would be the only one to tap.
#[test]
fn a_user_the_bundle_does_not_hold_without_a_device_will_be_refused() {
    let b = deploy_bundle("");
    let e = ask_as(&b, "svc-backup", Some("ghost"), "sudo");
    assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
    let note = nobody_can_tap(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
    assert!(note.contains("ghost has no registered device"), "{note}");
    let e = ask_as(
        &deploy_bundle(&device_of("ghost")),
        "svc-backup",
        Some("ghost"),
        "sudo",
    );
    assert_eq!(nobody_can_tap(&e), None, "{:?}", e.reasons);
}

/// Over SSH, jerry with no device under plain `hardware_key`: a
/// certificate's `hardware_key` class alone is no MFA, so the note asks
/// for one that shows it; `hardware_key_touch`'s certificate is MFA.
#[test]
fn without_a_device_plain_hardware_key_needs_a_certificate_that_shows_mfa() {
    for (require, shows_mfa) in [("hardware_key", true), ("hardware_key_touch", false)] {
        let b = load_bundle_str(
            &format!(
                "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {{env: prod}}\n  options: {{require_session_mfa: {require}}}\n\
                 ---\nkind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec: {{roles: [prod]}}\n"
            ),
            "t.yaml",
        )
        .unwrap();
        let e = ask(&b, "jerry", "sshd");
        let note = jerrys_no_device_note(&e);
        assert!(note.contains("private-key-policy meets it"), "{note}");
        assert_eq!(note.contains("mfa-verified"), shows_mfa, "{note}");
    }
}

/// `hardware_key` from a role that does not allow the login: its key
/// policy applies (Teleport's `RoleSet.PrivateKeyPolicy` takes every
/// role), its session MFA does not (only allowing roles'), so a
/// certificate meeting the key policy suffices without showing MFA.
#[test]
fn a_key_policy_without_session_mfa_asks_for_no_mfa_in_the_certificate() {
    let b = load_bundle_str(
        "kind: role\nversion: v7\nmetadata: {name: ra}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: prod}\n\
         ---\nkind: role\nversion: v7\nmetadata: {name: rb}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: dev}\n  options: {require_session_mfa: hardware_key}\n\
         ---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec: {roles: [ra, rb]}\n",
        "t.yaml",
    )
    .unwrap();
    let e = ask(&b, "jerry", "sshd");
    assert_eq!(
        (e.access.as_str(), e.mfa.as_str()),
        ("allow", "hardware_key")
    );
    let note = jerrys_no_device_note(&e);
    assert!(note.contains("private-key-policy meets it"), "{note}");
    assert!(!note.contains("mfa-verified"), "{note}");
}

/// The note that nobody can tap because jerry has no registered device,
/// with the certificate clause of an SSH login (the test fails without
/// one).
fn jerrys_no_device_note(e: &Explanation) -> &str {
    nobody_can_tap(e)
        .filter(|r| {
            r.contains("jerry has no registered device")
                && r.contains("unless a Teleport certificate names the person")
        })
        .unwrap_or_else(|| panic!("{:?}", e.reasons))
}
