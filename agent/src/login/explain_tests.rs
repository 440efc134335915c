//! `mfactl explain`'s decision in words: an allowed login that needs MFA
//! but that no tap can answer says so.

use std::collections::BTreeMap;
use std::time::SystemTime;

use pam_mfa_protocol::{ExplainQuery, Explanation};

use super::explain::explain;
use crate::config::ServiceMap;
use crate::policy::{load_bundle_str, Bundle, NodeInfo};

fn sudo_on_prod3(bundle: &Bundle) -> Explanation {
    let node = NodeInfo {
        name: "prod3".into(),
        id: None,
        labels: [("env".to_string(), "prod".to_string())].into(),
    };
    let q = ExplainQuery {
        login: "jerry".into(),
        user: None,
        service: Some("sudo".into()),
    };
    let services = ServiceMap::new(&BTreeMap::new()).unwrap();
    explain(bundle, &node, &services, &q, SystemTime::now(), false)
}

fn ask(bundle: &Bundle, login: &str, service: &str) -> Explanation {
    let node = NodeInfo {
        name: "prod3".into(),
        id: None,
        labels: [("env".to_string(), "prod".to_string())].into(),
    };
    let q = ExplainQuery {
        login: login.into(),
        user: None,
        service: Some(service.into()),
    };
    let services = ServiceMap::new(&BTreeMap::new()).unwrap();
    explain(bundle, &node, &services, &q, SystemTime::now(), false)
}

fn nobody_note(e: &Explanation) -> Option<&String> {
    e.reasons
        .iter()
        .find(|r| r.starts_with("nobody can tap for this login"))
}

const SK_KEY: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIC0F/LJRSd23qXKZ9xHqOm9z6D8ciF5N9g+7iIaEJfEkAAAABHNzaDo=";

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
    // A login that is one user's is the no-device note's, not this one.
    assert_eq!(nobody_note(&ask(&b, "jerry", "sudo")), None);
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
    let olgas_key = format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: olga-key}}\nspec:\n  user: olga\n  ssh_sk:\n    public_key: \"{SK_KEY} olga@laptop\"\n"
    );
    let e = ask(&deploy_bundle(&olgas_key), "deploy", "sudo");
    assert_eq!(nobody_note(&e), None, "{:?}", e.reasons);
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

/// The note that jerry has no registered device (the test fails
/// without one).
fn jerrys_no_device_note(e: &Explanation) -> &str {
    e.reasons
        .iter()
        .find(|r| r.starts_with("jerry has no registered device"))
        .unwrap_or_else(|| panic!("{:?}", e.reasons))
}

/// README's step: `mfactl explain --login jerry --service sudo` with
/// the example policy says allow, and that jerry has no key to tap.
#[test]
fn an_allowed_login_that_needs_a_tap_says_when_the_user_has_no_device() {
    let example = crate::state::BUILTIN_EXAMPLE;
    let e = sudo_on_prod3(&load_bundle_str(example, "example").unwrap());
    assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
    assert!(
        e.reasons
            .iter()
            .any(|r| r.starts_with("jerry has no registered device")),
        "{:?}",
        e.reasons
    );
    let device = "---\nkind: mfa_device\nversion: v1\nmetadata: {name: jerry-key}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIC0F/LJRSd23qXKZ9xHqOm9z6D8ciF5N9g+7iIaEJfEkAAAABHNzaDo= jerry@laptop\"\n";
    let e = sudo_on_prod3(&load_bundle_str(&format!("{example}{device}"), "example").unwrap());
    assert_eq!(e.access, "allow");
    assert!(
        !e.reasons.iter().any(|r| r.contains("no registered device")),
        "{:?}",
        e.reasons
    );
}
