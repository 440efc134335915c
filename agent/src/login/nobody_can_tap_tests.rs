//! What `mfactl explain` (and so `mfactl doctor`) says of a login decided
//! for one cluster user with no registered device, against what the
//! agent does with that login: where explain says nobody can tap for it,
//! the login pipeline refuses it (doctor must never call a login that
//! passes refused: an admin would change working config), and where the
//! user has a device, explain says nothing and the pipeline asks for the
//! tap.

use pam_mfa_protocol::{ExplainQuery, Explanation, PamHook, ResponseBody};

use super::explain::{explain, nobody_can_tap};
use super::flow_tests::{Fixture, BLOB};
use super::tap::Step;

/// A role that requires MFA of every session on prod; alice, a known
/// cluster user, is the only one whose logins hold `root` and `alice`.
fn policy(devices: &str) -> String {
    "kind: role\nversion: v7\nmetadata: {name: prod}\nspec:\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: prod}\n  options:\n    require_session_mfa: true\n---\n\
     kind: user\nversion: v2\nmetadata: {name: alice}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root, alice]\n"
        .to_string()
        + devices
}

/// alice's registered security key.
fn alices_key() -> String {
    format!("---\nkind: mfa_device\nversion: v1\nmetadata: {{name: alice-key}}\nspec:\n  user: alice\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com {BLOB} alice@laptop\"\n")
}

fn explained(f: &Fixture, login: &str, service: &str) -> Explanation {
    let bundle = f.state.store.current().unwrap();
    let q = ExplainQuery {
        login: login.into(),
        user: None,
        service: Some(service.into()),
    };
    explain(
        &bundle,
        &f.state.node,
        &f.state.services,
        &q,
        f.state.now(),
        false,
    )
}

/// The logins asked about: alice's sudo (PAM_RUSER alice) in auth, and in
/// account as a NOPASSWD rule has it; root over SSH with no key sshd
/// vouched for. Each with what the agent answered.
fn decided(f: &Fixture) -> Vec<(&'static str, Explanation, Step)> {
    let sudo = |hook| f.begin_service_from("sudo", hook, 1, Some("alice"));
    vec![
        (
            "sudo auth",
            explained(f, "alice", "sudo"),
            sudo(PamHook::Auth),
        ),
        (
            "sudo account",
            explained(f, "alice", "sudo"),
            sudo(PamHook::Account),
        ),
        (
            "sshd",
            explained(f, "root", "sshd"),
            f.begin(PamHook::Auth, None, "10.0.0.1"),
        ),
    ]
}

#[test]
fn one_user_without_a_device_is_flagged_exactly_where_the_login_is_refused() {
    // A challenge sent to the prompt, and a key attached to this host.
    for config in ["attached_keys:\n  enabled: false\n", ""] {
        let f = Fixture::new(&policy(""), config);
        for (what, e, step) in decided(&f) {
            assert_eq!(e.user.as_deref(), Some("alice"), "{what}");
            assert!(nobody_can_tap(&e).is_some(), "{what}: {:?}", e.reasons);
            assert!(
                matches!(step, Step::Done(ResponseBody::Deny { .. })),
                "{what} ({config:?}): explain says refused, the agent answered {:?}",
                match step {
                    Step::Done(r) => format!("{r:?}"),
                    Step::Ask(..) => "a challenge".into(),
                }
            );
        }
    }
    // With alice's key registered: nothing flagged, and a tap is asked for
    // (in sshd's account stack, which has no conversation, not yet).
    let f = Fixture::new(&policy(&alices_key()), "attached_keys:\n  enabled: false\n");
    for (what, e, step) in decided(&f) {
        assert_eq!(nobody_can_tap(&e), None, "{what}: {:?}", e.reasons);
        assert!(matches!(step, Step::Ask(..)), "{what}: no challenge");
    }
}
