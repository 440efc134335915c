//! One WebAuthn credential id registered to several users, in-process.
//! The id is no secret (the prompt's `cred=` and the approval link's `k=`
//! name it) and a key registered without attestation picks its own, so
//! anyone may register a device under another's id with a key of their
//! own (Teleport checks ids per user only: lib/services/local/users.go
//! `upsertMFADevice`). Such a copy once switched the owner's key off on
//! every host (all devices sharing an id were left out). Now each is kept
//! and a tap is credited by the key that verifies it: the owner's tap is
//! the owner's, the copy's the copier's, and one key registered to two
//! users says no one where both may tap.

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::approval_link_tests::page_answer;
use super::conversation::answer;
use super::flow_tests::{prompt_text, Fixture};
use super::tap::{Conversation, Step};
use super::teleport_device_tests::{tap, teleport_key, webauthn_entry};
use crate::challenge::find_challenge;
use crate::fido2::soft::SoftAuthenticator;

const RP: &str = "example.test";
const PAGE: &str = "https://approve.example.test";

/// Session MFA on prod3; alice and mallory, each with the `logins` trait
/// given and the Teleport WebAuthn devices (`local_auth.mfa` entries).
fn policy(alice: (&str, &str), mallory: (&str, &str)) -> String {
    let user = |name: &str, (login, entries): (&str, &str)| {
        format!(
            "---\nkind: user\nversion: v2\nmetadata: {{name: {name}}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [{login}]\n  local_auth:\n    password_hash: JDJhJDEwJGhhc2g=\n    mfa:\n{entries}"
        )
    };
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: true\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: webauthn\n  webauthn: {{rp_id: {RP}}}\n{}{}",
        user("alice", alice),
        user("mallory", mallory)
    )
}

/// alice's key, and mallory's key of her own under alice's credential id.
fn keys() -> (SoftAuthenticator, SoftAuthenticator) {
    let alice = teleport_key(RP, b"alice");
    let copy = teleport_key(RP, b"mallory").with_credential_id(alice.credential_id());
    assert_ne!(alice.public_key_cose(), copy.public_key_cose());
    (alice, copy)
}

fn entry(name: &str, key: &SoftAuthenticator) -> String {
    webauthn_entry(name, key, "2024-01-01T00:00:00Z", 0)
}

fn fixture(policy: &str) -> Fixture {
    Fixture::new(policy, &format!("approval_url: {PAGE}/\n"))
}

fn challenge(f: &Fixture) -> (Box<Conversation>, String) {
    match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Ask(conv, prompt) => (conv, prompt_text(&prompt)),
        Step::Done(body) => panic!("expected a challenge, got {body:?}"),
    }
}

/// Answers `conv` with `line`: the cluster user and device the login was
/// credited to (the account phase's grant), or the refusal's text.
fn credited(
    f: &Fixture,
    conv: Box<Conversation>,
    line: String,
) -> Result<(String, String), String> {
    match answer(&f.state, conv, &[line]) {
        Step::Done(ResponseBody::Allow { .. }) => {
            let g = f
                .state
                .grants
                .take("sshd", "root", Some("10.0.0.1"), 1, f.state.now())
                .expect("an allowed tap leaves a grant");
            Ok((g.user, g.device.unwrap_or_default()))
        }
        Step::Done(other) => Err(format!("{other:?}")),
        Step::Ask(_, p) => Err(prompt_text(&p)),
    }
}

fn credit(user: &str, device: &str) -> Result<(String, String), String> {
    Ok((user.into(), device.into()))
}

/// root is alice's alone: her key still answers (mfactl tap and the
/// approval page); mallory's copy, answering with mallory's key, is no key
/// of alice's.
#[test]
fn a_copied_credential_id_leaves_the_owners_key_working() {
    let (mut alice, mut copy) = keys();
    let f = fixture(&policy(
        ("root", &entry("alice-key", &alice)),
        ("mallory", &entry("copy", &copy)),
    ));
    let bundle = f.state.store.current().unwrap();
    let names: Vec<&str> = bundle.devices().iter().map(|d| &*d.name).collect();
    assert_eq!(names, ["alice-key", "copy"], "{:?}", bundle.warnings);
    let (conv, text) = challenge(&f);
    let line = tap(&mut alice, text.lines().last().unwrap(), RP);
    assert_eq!(credited(&f, conv, line), credit("alice", "id-alice-key"));
    let (conv, text) = challenge(&f);
    let c = find_challenge(&text).unwrap();
    let line = page_answer(&mut alice, &c.text, PAGE);
    assert_eq!(credited(&f, conv, line), credit("alice", "id-alice-key"));
    let (conv, text) = challenge(&f);
    let line = tap(&mut copy, text.lines().last().unwrap(), RP);
    let refused = credited(&f, conv, line).unwrap_err();
    assert!(refused.contains("does not verify"), "{refused}");
}

/// root is both alice's and mallory's: the prompt asks for the shared id
/// once, and the key that signs says who logs in, over either way of
/// answering.
#[test]
fn on_a_shared_login_the_key_that_verifies_says_who_logs_in() {
    let (mut alice, mut copy) = keys();
    let f = fixture(&policy(
        ("root", &entry("alice-key", &alice)),
        ("root", &entry("copy", &copy)),
    ));
    let (conv, text) = challenge(&f);
    assert!(text.contains("one of alice, mallory"), "{text}");
    let question = text.lines().last().unwrap();
    let cred = question
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cred="))
        .unwrap();
    assert!(!cred.contains(','), "one id, asked once: {question}");
    let line = tap(&mut alice, question, RP);
    assert_eq!(credited(&f, conv, line), credit("alice", "id-alice-key"));
    let (conv, text) = challenge(&f);
    let line = tap(&mut copy, text.lines().last().unwrap(), RP);
    assert_eq!(credited(&f, conv, line), credit("mallory", "id-copy"));
    for (key, who) in [
        (&mut alice, ("alice", "id-alice-key")),
        (&mut copy, ("mallory", "id-copy")),
    ] {
        let (conv, text) = challenge(&f);
        let c = find_challenge(&text).unwrap();
        let line = page_answer(key, &c.text, PAGE);
        assert_eq!(credited(&f, conv, line), credit(who.0, who.1));
    }
}

/// The same credential id and public key under two users: kept (a
/// warning names them), but where both may tap a signature by it verifies
/// for both and says no one: refused, never credited to either; where the
/// login is one of theirs alone, only that person's device counts.
#[test]
fn one_key_registered_to_two_users_is_never_credited_to_the_wrong_one() {
    let mut alice = teleport_key(RP, b"alice");
    let both = policy(
        ("root", &entry("alice-key", &alice)),
        ("root", &entry("twin", &alice)),
    );
    let f = fixture(&both);
    let bundle = f.state.store.current().unwrap();
    assert!(
        bundle
            .warnings
            .iter()
            .any(|w| w.contains("\"twin\"") && w.contains("public key")),
        "{:?}",
        bundle.warnings
    );
    let (conv, text) = challenge(&f);
    let line = tap(&mut alice, text.lines().last().unwrap(), RP);
    let refused = credited(&f, conv, line).unwrap_err();
    assert!(refused.contains("does not say who logs in"), "{refused}");
    let (conv, text) = challenge(&f);
    let c = find_challenge(&text).unwrap();
    let line = page_answer(&mut alice, &c.text, PAGE);
    let refused = credited(&f, conv, line).unwrap_err();
    assert!(refused.contains("does not say who logs in"), "{refused}");
    // root is alice's alone: the twin of mallory's does not count.
    let f = fixture(&policy(
        ("root", &entry("alice-key", &alice)),
        ("mallory", &entry("twin", &alice)),
    ));
    let (conv, text) = challenge(&f);
    let line = tap(&mut alice, text.lines().last().unwrap(), RP);
    assert_eq!(credited(&f, conv, line), credit("alice", "id-alice-key"));
}
