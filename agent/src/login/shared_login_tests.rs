//! A cluster-managed login whose person is not known (`root`, which the
//! role ops names and nobody's traits do), in-process: the challenge takes
//! a registered key of any allowed candidate, the tap is decided again for
//! the key's owner alone (their locks), and `account` counts the grant for
//! that person.

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::conversation::answer;
use super::flow_tests::{prompt_text, Fixture, ALLOW};
use super::piv_flow_tests::{piv_answer, piv_device, piv_fixture};
use super::tap::Step;
use crate::piv::tests::chain::{Minted, Slot};
use crate::piv::tests::fake_card::FakeCard;
use crate::policy::load_bundle_str;

/// ops (env=prod, session MFA, logins [root]) held by jerry and alice;
/// dev-root (env=dev) gives root to bob, who is no candidate on prod3.
fn policy(extra: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: ops}}\nspec:\n  options: {{require_session_mfa: true}}\n  allow:\n    logins: [root]\n    node_labels: {{env: prod}}\n---\n\
         kind: role\nversion: v7\nmetadata: {{name: dev-root}}\nspec:\n  allow:\n    logins: [root]\n    node_labels: {{env: dev}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec: {{roles: [ops], traits: {{logins: [jerry]}}}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec: {{roles: [ops], traits: {{logins: [alice]}}}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: bob}}\nspec: {{roles: [dev-root], traits: {{logins: [bob]}}}}\n{extra}"
    )
}

fn touch() -> Slot {
    Slot {
        pin: 1,
        touch: 2,
        ..Default::default()
    }
}

struct Cards {
    jerry: Minted,
    alice: Minted,
    bob: Minted,
}

fn world(tag: &str) -> (Fixture, Cards, String) {
    let cards = Cards {
        jerry: Minted::new(&touch()),
        alice: Minted::new(&touch()),
        bob: Minted::new(&touch()),
    };
    let devices = format!(
        "{}{}{}",
        piv_device("jerry-piv", "jerry", &cards.jerry),
        piv_device("alice-piv", "alice", &cards.alice),
        piv_device("bob-piv", "bob", &cards.bob),
    );
    let f = piv_fixture(
        &policy(&devices),
        "challenge:\n  tries: 5\n",
        tag,
        &[&cards.jerry, &cards.alice, &cards.bob],
    );
    (f, cards, devices)
}

fn challenge(f: &Fixture) -> (Box<super::tap::Conversation>, ResponseBody) {
    match f.begin(PamHook::Auth, None, "10.0.0.9") {
        Step::Ask(conv, prompt) => (conv, prompt),
        Step::Done(r) => panic!("expected a challenge, got {r:?}"),
    }
}

#[test]
fn any_allowed_candidate_may_tap_and_the_login_becomes_theirs() {
    let (f, cards, _) = world("shared-any");
    // No evidence: not allowed as it stands (account never prompts).
    assert!(matches!(
        f.login(None, "10.0.0.9"),
        ResponseBody::Deny { .. }
    ));
    let (conv, prompt) = challenge(&f);
    let text = prompt_text(&prompt);
    assert!(text.contains("for one of alice, jerry"), "{text}");
    // Each PAM message stays under Linux-PAM's 512 bytes (PAM_MAX_MSG_SIZE).
    let ResponseBody::Prompt { prompts } = &prompt else {
        unreachable!()
    };
    assert!(prompts.iter().all(|p| p.text.len() < 512), "{prompts:?}");
    // bob could be root on dev nodes only: his key does not answer here.
    let line = piv_answer(&mut FakeCard::new(&cards.bob, &touch()), &prompt);
    let Step::Ask(conv, prompt) = answer(&f.state, conv, &[line]) else {
        panic!("a refused answer asks again")
    };
    assert!(
        prompt_text(&prompt).contains("not registered for one of alice, jerry"),
        "{}",
        prompt_text(&prompt)
    );
    // jerry's does: allowed, and the account phase counts it for jerry.
    let line = piv_answer(&mut FakeCard::new(&cards.jerry, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    assert_eq!(f.login(None, "10.0.0.9"), ALLOW);
}

#[test]
fn the_tap_is_decided_again_for_its_owner_alone() {
    let (f, cards, devices) = world("shared-owner");
    let (jerry_conv, jerry_prompt) = challenge(&f);
    let (alice_conv, alice_prompt) = challenge(&f);
    // jerry is locked while the two taps are pending.
    let lock = "---\nkind: lock\nversion: v2\nmetadata: {name: stop-jerry}\nspec:\n  target: {user: jerry}\n  message: off-boarded\n";
    let locked = load_bundle_str(&policy(&(devices + lock)), "t.yaml").unwrap();
    f.state.store.install(locked, std::time::SystemTime::now());
    // jerry's tap: his lock holds, whatever the key proves.
    let line = piv_answer(&mut FakeCard::new(&cards.jerry, &touch()), &jerry_prompt);
    match answer(&f.state, jerry_conv, &[line]) {
        Step::Done(ResponseBody::Deny { message, .. }) => {
            assert!(message.contains("locked"), "{message}")
        }
        other => panic!("jerry is locked: {:?}", matches!(other, Step::Done(_))),
    }
    // alice's tap: decided for alice alone, whom no lock holds.
    let line = piv_answer(&mut FakeCard::new(&cards.alice, &touch()), &alice_prompt);
    match answer(&f.state, alice_conv, &[line]) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // A new login without a tap: jerry could be the one, so the person
    // must be shown; the others are asked (jerry's lock holds him alone, as
    // Teleport's lock targets are the person's own), and alice's tap lets
    // her in.
    let (conv, prompt) = challenge(&f);
    let line = piv_answer(&mut FakeCard::new(&cards.alice, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // jerry's key is not asked: his tap on that challenge does not count.
    let (conv, prompt) = challenge(&f);
    let line = piv_answer(&mut FakeCard::new(&cards.jerry, &touch()), &prompt);
    assert!(matches!(
        answer(&f.state, conv, &[line]),
        Step::Done(ResponseBody::Deny { .. }) | Step::Ask(..)
    ));
}

/// sudo and su ask about the invoking user's own login (`ruser`), not the
/// target account: alice's `sudo -i` to root on prod3 is decided for login
/// alice (given by `own`, no MFA), while root itself is cluster-managed and
/// would need a tap.
#[test]
fn sudo_is_decided_for_the_invoking_users_login() {
    use super::flow::handle_begin;
    use super::verdict::PeerIds;
    use pam_mfa_protocol::PamContext;
    let own = "---\nkind: role\nversion: v7\nmetadata: {name: own}\nspec:\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: prod}\n---\nkind: user\nversion: v2\nmetadata: {name: alice}\nspec: {roles: [ops, own], traits: {logins: [alice]}}\n";
    let text = policy("").replace(
        "---\nkind: user\nversion: v2\nmetadata: {name: alice}\nspec: {roles: [ops], traits: {logins: [alice]}}\n",
        "",
    ) + own;
    let f = Fixture::new(&text, "");
    // sudo and su run by a user (real uid 65534): root's own are allowed.
    let Some(caller) = super::flow_tests::UserProcess::start() else {
        return;
    };
    let sudo = |ruser: &str| PamContext {
        service: "sudo".into(),
        user: "root".into(),
        ruser: Some(ruser.into()),
        ..Default::default()
    };
    let account = |ctx: &PamContext| match handle_begin(
        &f.state,
        PeerIds::of_process(caller.pid(), 0),
        PamHook::Account,
        ctx,
        Ok(()),
    ) {
        Step::Done(r) => r,
        Step::Ask(..) => panic!("the account hook never prompts"),
    };
    // PAM_RUSER names the caller's real uid (65534 here goes by each name
    // in turn), as sudo sets it.
    let caller_is = |names: &[(&str, u32)]| {
        let entries = names.iter().map(|(n, u)| (n.to_string(), *u)).collect();
        crate::host_accounts::PASSWD.with(|p| *p.borrow_mut() = Some(entries));
    };
    caller_is(&[("alice", 65534)]);
    assert_eq!(account(&sudo("alice")), ALLOW);
    // jerry has no role giving login jerry: his sudo is refused, whatever
    // root's candidates would need.
    caller_is(&[("jerry", 65534)]);
    assert!(matches!(account(&sudo("jerry")), ResponseBody::Deny { .. }));
    // Asked about root itself (the invoking user root, not root's own: its
    // real uid is not 0): the shared login's rule.
    caller_is(&[("root", 65534)]);
    assert!(matches!(account(&sudo("root")), ResponseBody::Deny { .. }));
    // PAM_RUSER naming another account than the caller's (polkit's helper
    // names the admin identity chosen in its dialog) is not taken: the
    // caller is jerry, whose sudo is refused, not alice, whose is not.
    caller_is(&[("jerry", 65534), ("alice", 1000)]);
    assert!(matches!(account(&sudo("alice")), ResponseBody::Deny { .. }));
    // su without PAM_RUSER: the name of its real uid (here alice's, whose
    // own login needs no MFA), never PAM_USER root.
    crate::host_accounts::PASSWD.with(|p| *p.borrow_mut() = Some(vec![("alice".into(), 65534)]));
    let su = PamContext {
        service: "su".into(),
        user: "root".into(),
        ..Default::default()
    };
    assert_eq!(account(&su), ALLOW);
}

/// Teleport's `loginFlow.finish` reads the user's devices again: a key
/// deleted (not locked) while its login waits on the tap cannot finish it.
#[test]
fn a_key_removed_while_the_login_waits_cannot_finish_it() {
    let (f, cards, devices) = world("shared-removed");
    let (conv, prompt) = challenge(&f);
    let without_alice = format!(
        "{}{}",
        piv_device("jerry-piv", "jerry", &cards.jerry),
        piv_device("bob-piv", "bob", &cards.bob),
    );
    let b = load_bundle_str(&policy(&without_alice), "t.yaml").unwrap();
    f.state.store.install(b, std::time::SystemTime::now());
    let line = piv_answer(&mut FakeCard::new(&cards.alice, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(ResponseBody::Deny { message, .. }) => {
            assert!(message.contains("no longer registered"), "{message}")
        }
        Step::Done(r) => panic!("allowed with a removed key: {r:?}"),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // A key replaced under the same name while its login waits: the old
    // card's tap no longer counts.
    let b = load_bundle_str(&policy(&devices), "t.yaml").unwrap();
    f.state.store.install(b, std::time::SystemTime::now());
    let (conv, prompt) = challenge(&f);
    let replacement = Minted::new(&touch());
    let replaced = format!(
        "{}{}{}",
        piv_device("jerry-piv", "jerry", &cards.jerry),
        piv_device("alice-piv", "alice", &replacement),
        piv_device("bob-piv", "bob", &cards.bob),
    );
    let b = load_bundle_str(&policy(&replaced), "t.yaml").unwrap();
    f.state.store.install(b, std::time::SystemTime::now());
    let line = piv_answer(&mut FakeCard::new(&cards.alice, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(ResponseBody::Deny { message, .. }) => {
            assert!(message.contains("no longer registered"), "{message}")
        }
        Step::Done(r) => panic!("allowed with a replaced key: {r:?}"),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // jerry's key, still registered, answers a fresh challenge.
    let (conv, prompt) = challenge(&f);
    let line = piv_answer(&mut FakeCard::new(&cards.jerry, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
}

/// A PIV key registered to two users (a copy of someone's device as one's
/// own) would not say whose tap or login it is: neither device is kept (a
/// warning names each), the bundle still loads, and the card answers for
/// no one; a candidate's other key still does.
#[test]
fn a_key_registered_to_two_users_answers_for_no_one() {
    let (alice, jerry) = (Minted::new(&touch()), Minted::new(&touch()));
    let devices = format!(
        "{}{}{}",
        piv_device("alice-piv", "alice", &alice),
        piv_device("jerry-copy", "jerry", &alice),
        piv_device("jerry-piv", "jerry", &jerry),
    );
    let b = load_bundle_str(&policy(&devices), "t.yaml").unwrap();
    let names: Vec<&str> = b.devices().iter().map(|d| &*d.name).collect();
    assert_eq!(names, ["jerry-piv"]);
    let warned = b
        .warnings
        .iter()
        .filter(|w| w.contains("several users"))
        .count();
    assert_eq!(warned, 2, "{:?}", b.warnings);
    let f = piv_fixture(
        &policy(&devices),
        "challenge:\n  tries: 5\n",
        "shared-copy",
        &[&alice, &jerry],
    );
    let (conv, prompt) = challenge(&f);
    let line = piv_answer(&mut FakeCard::new(&alice, &touch()), &prompt);
    assert!(
        matches!(answer(&f.state, conv, &[line]), Step::Ask(..)),
        "the copied card answers for no one"
    );
    let (conv, prompt) = challenge(&f);
    let line = piv_answer(&mut FakeCard::new(&jerry, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
}
