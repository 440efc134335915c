//! PIV taps in-process: answers checked against the attested key (another
//! node or login named in the refusal), the class taken from the attestation.

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::conversation::answer;
use super::flow_tests::{bundle, prompt_text, Fixture, ALLOW};
use super::tap::Step;
use crate::challenge::find_challenge;

/// A `piv` mfa_device for `user` holding `m`'s chain.
pub(super) fn piv_device(name: &str, user: &str, m: &crate::piv::tests::chain::Minted) -> String {
    format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: {name}}}\nspec:\n  user: {user}\n  piv:\n    slot: 9c\n    attestation_chain: {}\n",
        crate::piv::tests::device::yaml_pem_list(&m.chain_pem())
    )
}

/// A fixture whose agent.yaml's `piv:` trusts the roots of `minted` (files
/// in a temporary directory, removed once the agent has read them).
pub(super) fn piv_fixture(
    policy: &str,
    extra_config: &str,
    tag: &str,
    minted: &[&crate::piv::tests::chain::Minted],
) -> Fixture {
    let dir = std::env::temp_dir().join(format!("pam-mfa-pivtap-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<String> = minted
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let p = dir.join(format!("root{i}.pem"));
            std::fs::write(&p, m.root.cert.pem()).unwrap();
            format!("\"{}\"", p.display())
        })
        .collect();
    let f = Fixture::new(
        policy,
        &format!(
            "{extra_config}piv:\n  include_yubico_roots: false\n  attestation_roots: [{}]\n",
            files.join(", ")
        ),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    f
}

pub(super) fn piv_answer(
    card: &mut crate::piv::tests::fake_card::FakeCard,
    prompt: &ResponseBody,
) -> String {
    struct Pin(Vec<String>);
    impl crate::ctl::tap::Terminal for Pin {
        fn say(&mut self, text: &str) -> Result<(), String> {
            self.0.push(text.into());
            Ok(())
        }
        fn ask_hidden(&mut self, _: &str) -> Result<zeroize::Zeroizing<String>, String> {
            Ok(zeroize::Zeroizing::new("123456".into()))
        }
    }
    let text = prompt_text(prompt);
    let c = find_challenge(&text).unwrap();
    let slots = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("piv="))
        .expect("the prompt names the PIV slots");
    crate::ctl::tap::answer_with_piv(card, &c, slots, &mut Pin(Vec::new())).unwrap()
}

#[test]
fn piv_taps_verify_against_the_attested_key() {
    use crate::piv::tests::chain::{Minted, Slot};
    use crate::piv::tests::fake_card::FakeCard;
    let touch_pin = Slot {
        pin: 2,
        touch: 2,
        ..Default::default()
    };
    let alice = Minted::new(&touch_pin);
    let bob = Minted::new(&touch_pin);
    let untrusted = Minted::new(&touch_pin);
    let unregistered = Minted::new(&touch_pin);
    let extra = format!(
        "{}{}{}",
        piv_device("alice-piv", "alice", &alice),
        piv_device("bob-piv", "bob", &bob),
        piv_device("alice-untrusted", "alice", &untrusted),
    );
    let f = piv_fixture(
        &bundle("true", &extra),
        "challenge:\n  tries: 10\n",
        "verify",
        &[&alice, &bob, &unregistered],
    );
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    assert!(
        prompt_text(&prompt).contains(" piv=9c answers=named answer: "),
        "{}",
        prompt_text(&prompt)
    );
    // Another user's key, a key nobody registered, one whose chain is not
    // trusted (left out: the agent never takes its public key): refused.
    let mut conv = conv;
    let mut prompt = prompt;
    for (minted, why) in [
        (&bob, "not registered for alice"),
        (&unregistered, "not registered for alice"),
        (&untrusted, "not registered for alice"),
    ] {
        let line = piv_answer(&mut FakeCard::new(minted, &touch_pin), &prompt);
        let Step::Ask(c, p) = answer(&f.state, conv, &[line]) else {
            panic!("a refused answer asks again")
        };
        assert!(prompt_text(&p).contains(why), "{}", prompt_text(&p));
        (conv, prompt) = (c, p);
    }
    // Malformed.
    let Step::Ask(conv, p) = answer(&f.state, conv, &["pv1.AAAA.BBBB".into()]) else {
        panic!()
    };
    assert!(
        prompt_text(&p).contains("not 8 bytes"),
        "{}",
        prompt_text(&p)
    );
    // Alice's card signs the current challenge: allowed.
    let mut card = FakeCard::new(&alice, &touch_pin);
    let line = piv_answer(&mut card, &p);
    // An answer to an earlier challenge of the same login is not good now:
    // that challenge had its answer.
    let stale = piv_answer(&mut card, &prompt);
    let Step::Ask(conv, p2) = answer(&f.state, conv, &[stale]) else {
        panic!()
    };
    assert!(
        prompt_text(&p2).contains("already used"),
        "{}",
        prompt_text(&p2)
    );
    // The answer to the challenge before the refusal is stale as well: every
    // try has its own challenge.
    let Step::Ask(mut conv, mut p3) = answer(&f.state, conv, std::slice::from_ref(&line)) else {
        panic!()
    };
    assert!(
        prompt_text(&p3).contains("already used"),
        "{}",
        prompt_text(&p3)
    );
    // Signed for another login or node, and saying so: refused as such.
    let c3 = find_challenge(&prompt_text(&p3)).unwrap();
    for (node, login, why) in [
        ("prod3", "bob", "to prod3 as bob, not to prod3 as root"),
        ("prod4", "root", "to prod4 as root, not to prod3 as root"),
    ] {
        let other = c3.text.replace(
            &format!("{}:{}:", c3.node, c3.login),
            &format!("{node}:{login}:"),
        );
        let other_prompt = ResponseBody::Prompt {
            prompts: vec![pam_mfa_protocol::Prompt {
                style: pam_mfa_protocol::PromptStyle::EchoOn,
                text: format!("MFA challenge {other} piv=9c answer: "),
            }],
        };
        let signed = piv_answer(&mut card, &other_prompt);
        let claimed = crate::challenge::with_claim(&signed, &other);
        let Step::Ask(conv2, p4) = answer(&f.state, conv, &[claimed]) else {
            panic!()
        };
        assert!(prompt_text(&p4).contains(why), "{}", prompt_text(&p4));
        conv = conv2;
        p3 = p4;
    }
    let fresh = piv_answer(&mut card, &p3);
    match answer(&f.state, conv, std::slice::from_ref(&fresh)) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // Replayed on the next login: refused as already used.
    let Step::Ask(conv, _) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    let Step::Ask(_, p) = answer(&f.state, conv, &[fresh]) else {
        panic!()
    };
    assert!(
        prompt_text(&p).contains("already used"),
        "{}",
        prompt_text(&p)
    );
}

#[test]
fn piv_tap_class_comes_from_the_attestation() {
    use crate::piv::tests::chain::{Minted, Slot};
    use crate::piv::tests::fake_card::FakeCard;
    // Touch always and no PIN, or a PIN and no touch: MFA for the session.
    for (pin, touch) in [(1, 2), (2, 1), (3, 3)] {
        let s = Slot {
            pin,
            touch,
            ..Default::default()
        };
        let m = Minted::new(&s);
        let f = piv_fixture(
            &bundle("true", &piv_device("alice-piv", "alice", &m)),
            "",
            &format!("class{pin}{touch}"),
            &[&m],
        );
        let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
            panic!()
        };
        let line = piv_answer(&mut FakeCard::new(&m, &s), &prompt);
        match answer(&f.state, conv, &[line]) {
            Step::Done(r) => assert_eq!(r, ALLOW, "pin {pin} touch {touch}"),
            Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
        }
    }
    // Neither touch nor PIN: not MFA for the session.
    let plain = Slot {
        pin: 1,
        touch: 1,
        ..Default::default()
    };
    let m = Minted::new(&plain);
    let f = piv_fixture(
        &bundle("true", &piv_device("alice-piv", "alice", &m)),
        "",
        "plain",
        &[&m],
    );
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!()
    };
    let line = piv_answer(&mut FakeCard::new(&m, &plain), &prompt);
    let Step::Ask(_, p) = answer(&f.state, conv, &[line]) else {
        panic!()
    };
    let t = prompt_text(&p);
    assert!(
        t.contains("requires MFA for the session") && t.contains("attested hardware_key "),
        "{t}"
    );
}
