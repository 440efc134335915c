//! `mfactl tap` with scripted terminals, software FIDO2 keys and a fake PIV card.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::fido2::{answer_with_authenticators, check_pin_format};
use super::ssh_agent::key_type;
use super::terminal::ask_with_program;
use super::*;
use crate::challenge::{find_challenge, Answer, ParsedChallenge};
use crate::fido2::soft::SoftAuthenticator;
use crate::verify::webauthn::{decode_answer, verify_assertion};

struct Script(Vec<String>);

impl Terminal for Script {
    fn say(&mut self, text: &str) -> Result<(), String> {
        self.0.push(text.to_string());
        Ok(())
    }
    fn ask_hidden(&mut self, prompt: &str) -> Result<Zeroizing<String>, String> {
        self.0.push(format!("ASK {prompt}"));
        Ok(Zeroizing::new("secret".into()))
    }
}

/// Answers every hidden question with its PIN and records what was asked.
struct PinPad(Vec<String>, String);

impl Terminal for PinPad {
    fn say(&mut self, text: &str) -> Result<(), String> {
        self.0.push(text.to_string());
        Ok(())
    }
    fn ask_hidden(&mut self, prompt: &str) -> Result<Zeroizing<String>, String> {
        self.0.push(format!("ASK {prompt}"));
        Ok(Zeroizing::new(self.1.clone()))
    }
}

impl PinPad {
    fn asked(&self) -> Vec<&String> {
        self.0.iter().filter(|l| l.starts_with("ASK ")).collect()
    }
}

const RP: &str = "example.com";

fn challenge() -> ParsedChallenge {
    find_challenge("pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA").unwrap()
}

fn pinned(pin: &str, protocols: &[u8]) -> SoftAuthenticator {
    let mut a = SoftAuthenticator::from_seed(RP, b"tap-pin");
    a.set_pin(pin);
    a.pin_protocols = protocols.to_vec();
    a
}

fn tap(a: &SoftAuthenticator, uv: bool, t: &mut PinPad) -> Result<String, String> {
    let target = FidoTarget::from_prompt("", RP.into());
    answer_with_authenticators(vec![Box::new(a.clone())], &challenge(), &target, uv, t)
}

/// The flags (UP, UV) the agent's verifier reads from a tap's answer.
fn verified_flags(a: &SoftAuthenticator, answer: &str) -> (bool, bool) {
    let (_, authenticator_data, signature) = decode_answer(answer).unwrap();
    let v = verify_assertion(
        &a.credential(),
        RP,
        &challenge().text,
        &authenticator_data,
        &signature,
    )
    .unwrap();
    (v.user_present(), v.user_verified())
}

#[test]
fn uv_required_asks_the_pin_and_the_verifier_sees_uv() {
    for protocols in [&[2u8, 1][..], &[1]] {
        let a = pinned("4831", protocols);
        let mut t = PinPad(Vec::new(), "4831".into());
        let answer = tap(&a, true, &mut t).unwrap();
        assert_eq!(verified_flags(&a, &answer), (true, true), "{protocols:?}");
        // UP+UV is the class that meets hardware_key_pin.
        let req = crate::policy::Requirement {
            session: true,
            key_policy: crate::policy::KeyPolicy::HardwareKeyPin,
        };
        assert!(crate::login::check(&req, crate::login::KeyClass::TouchAndPin).is_ok());
        let asked = t.asked();
        assert_eq!(asked.len(), 1, "{:?}", t.0);
        assert!(asked[0].contains("PIN"), "{asked:?}");
        assert!(!t.0.iter().any(|l| l.contains("4831")), "{:?}", t.0);
    }
}

#[test]
fn no_pin_is_asked_when_uv_is_not_required() {
    let a = pinned("4831", &[2, 1]);
    let mut t = PinPad(Vec::new(), "4831".into());
    let answer = tap(&a, false, &mut t).unwrap();
    assert_eq!(verified_flags(&a, &answer), (true, false));
    assert!(t.asked().is_empty(), "{:?}", t.0);
}

#[test]
fn a_wrong_pin_is_refused_with_the_tries_left() {
    let a = pinned("4831", &[2, 1]);
    let mut t = PinPad(Vec::new(), "0000".into());
    let err = tap(&a, true, &mut t).unwrap_err();
    assert!(err.contains("wrong PIN (7 tries left"), "{err}");
    assert!(!err.contains("0000") && !err.contains("4831"), "{err}");
    // A key without a PIN is told to get one; nothing is asked.
    let mut none = SoftAuthenticator::from_seed(RP, b"tap-pin");
    none.user_verification = false;
    let mut t = PinPad(Vec::new(), "4831".into());
    let err = tap(&none, true, &mut t).unwrap_err();
    assert!(err.contains("has no PIN"), "{err}");
    assert!(t.asked().is_empty(), "{:?}", t.0);
    // A blocked key is not asked either.
    let mut blocked = pinned("4831", &[2, 1]);
    blocked.pin_retries = 0;
    let mut t = PinPad(Vec::new(), "4831".into());
    let err = tap(&blocked, true, &mut t).unwrap_err();
    assert!(err.contains("blocked"), "{err}");
    assert!(t.asked().is_empty(), "{:?}", t.0);
    // Few tries left: the prompt says so.
    let mut low = pinned("4831", &[2, 1]);
    low.pin_retries = 2;
    let mut t = PinPad(Vec::new(), "4831".into());
    tap(&low, true, &mut t).unwrap();
    assert!(t.asked()[0].contains("(2 tries left)"), "{:?}", t.0);
}

#[test]
fn a_pin_of_the_wrong_length_costs_no_try() {
    let a = pinned("4831", &[2, 1]);
    for bad in ["", "123", "é1é", &"9".repeat(64)] {
        let mut t = PinPad(Vec::new(), bad.to_string());
        let err = tap(&a, true, &mut t).unwrap_err();
        assert!(
            err.contains("nothing was sent to the key") || err.contains("no PIN was entered"),
            "{err}"
        );
    }
    assert!(check_pin_format("1234").is_ok());
    assert!(check_pin_format("ééé1").is_ok());
}

#[test]
fn built_in_uv_needs_no_pin() {
    let a = SoftAuthenticator::from_seed(RP, b"tap-bio");
    let mut t = PinPad(Vec::new(), "4831".into());
    let answer = tap(&a, true, &mut t).unwrap();
    assert_eq!(verified_flags(&a, &answer), (true, true));
    assert!(t.asked().is_empty(), "{:?}", t.0);
}

#[test]
fn askpass_program_answers_without_a_terminal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("pam-mfa-askpass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        p
    };
    let later = Instant::now() + Duration::from_secs(10);
    let ok = script(
        "askpass",
        "echo \"$1\" > \"$(dirname \"$0\")/asked\"; echo 4831; echo more",
    );
    let got = ask_with_program(ok.as_os_str(), "PIN please: ", later).unwrap();
    assert_eq!(got.as_str(), "4831");
    assert_eq!(
        std::fs::read_to_string(dir.join("asked")).unwrap(),
        "PIN please: \n"
    );
    let cancel = script("cancel", "exit 1");
    let err = ask_with_program(cancel.as_os_str(), "PIN: ", later).unwrap_err();
    assert!(err.contains("cancelled"), "{err}");
    let slow = script("slow", "exec sleep 30");
    let t0 = Instant::now();
    let err = ask_with_program(
        slow.as_os_str(),
        "PIN: ",
        Instant::now() + Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(err.contains("in time"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ordinary_askpass_prompts_go_to_the_terminal() {
    let mut t = Script(Vec::new());
    match run_tap(Some("Enter passphrase for key 'id':"), &mut t).unwrap() {
        TapOutput::Askpass(a) => assert_eq!(a, "secret"),
        TapOutput::Answer(_) => panic!(),
    }
    match run_tap(
        Some("Confirm user presence for key ED25519-SK SHA256:x"),
        &mut t,
    )
    .unwrap()
    {
        TapOutput::Askpass(a) => assert_eq!(a, ""),
        TapOutput::Answer(_) => panic!(),
    }
    assert!(t.0.iter().any(|l| l.contains("Tap your security key")));
}

/// A card with the minted slot-9c key `s` describes.
fn piv_card(s: &crate::piv::tests::chain::Slot) -> crate::piv::tests::fake_card::FakeCard {
    let m = crate::piv::tests::chain::Minted::new(s);
    crate::piv::tests::fake_card::FakeCard::new(&m, s)
}

/// PIN once, touch always.
fn pin_and_touch() -> crate::piv::tests::chain::Slot {
    crate::piv::tests::chain::Slot {
        pin: 2,
        touch: 2,
        ..Default::default()
    }
}

fn spki_of(card: &crate::piv::tests::fake_card::FakeCard) -> Vec<u8> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(&card.slot_cert)
        .unwrap()
        .1
        .public_key()
        .raw
        .to_vec()
}

#[test]
fn piv_tap_asks_the_pin_says_tap_and_signs_the_challenge() {
    use crate::verify::piv_tap::{selector, verify_piv_tap};
    let mut card = piv_card(&pin_and_touch());
    let mut t = PinPad(Vec::new(), "123456".into());
    let line = answer_with_piv(&mut card, &challenge(), "9a,9c", &mut t).unwrap();
    let Answer::Piv {
        selector: sel,
        signature,
    } = Answer::parse(&line).unwrap()
    else {
        panic!("{line}")
    };
    let spki = spki_of(&card);
    assert_eq!(sel, selector(&spki));
    verify_piv_tap(&spki, &challenge().text, &signature).unwrap();
    assert!(line.len() < 200, "{line}");
    assert_eq!(t.asked().len(), 1, "{:?}", t.0);
    assert!(t.asked()[0].contains("PIN of slot 9c"), "{:?}", t.0);
    assert!(
        t.0.iter().any(|l| l.contains("Tap your security key")),
        "{:?}",
        t.0
    );
    assert!(!t.0.iter().any(|l| l.contains("123456")), "{:?}", t.0);
}

#[test]
fn piv_tap_without_pin_or_touch_policy_asks_nothing() {
    let s = crate::piv::tests::chain::Slot {
        pin: 1,
        touch: 1,
        ..Default::default()
    };
    let mut card = piv_card(&s);
    let mut t = PinPad(Vec::new(), "123456".into());
    answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap();
    assert!(t.asked().is_empty(), "{:?}", t.0);
    assert!(!t.0.iter().any(|l| l.contains("Tap your")), "{:?}", t.0);
}

#[test]
fn piv_tap_errors_say_why_without_the_pin() {
    // A wrong PIN: the tries left, not the PIN.
    let mut card = piv_card(&pin_and_touch());
    let mut t = PinPad(Vec::new(), "999999".into());
    let e = answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap_err();
    assert!(e.contains("wrong PIN, 2 tries left"), "{e}");
    assert!(!e.contains("999999") && card.signed == 0, "{e}");
    // Few tries left: the prompt says so; blocked: not asked at all.
    let mut t = PinPad(Vec::new(), "999999".into());
    let _ = answer_with_piv(&mut card, &challenge(), "9c", &mut t);
    assert!(t.asked()[0].contains("(2 tries left)"), "{:?}", t.0);
    card.tries = 0;
    let mut t = PinPad(Vec::new(), "123456".into());
    let e = answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap_err();
    assert!(e.contains("blocked") && t.asked().is_empty(), "{e}");
    // Not touched in time.
    let mut card = piv_card(&pin_and_touch());
    card.touched = false;
    let mut t = PinPad(Vec::new(), "123456".into());
    let e = answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap_err();
    assert!(e.contains("not touched in time"), "{e}");
    // No key in the slots the prompt names; a bad slot list.
    let mut t = PinPad(Vec::new(), "123456".into());
    let e = answer_with_piv(&mut card, &challenge(), "9a,9d", &mut t).unwrap_err();
    assert!(e.contains("not found"), "{e}");
    let e = answer_with_piv(&mut card, &challenge(), "9z", &mut t).unwrap_err();
    assert!(e.contains("not one of"), "{e}");
    assert!(t.asked().is_empty(), "{:?}", t.0);
}

#[test]
fn key_type_of_a_blob() {
    let mut blob = 26u32.to_be_bytes().to_vec();
    blob.extend_from_slice(b"sk-ssh-ed25519@openssh.com");
    assert_eq!(key_type(&blob), "sk-ssh-ed25519@openssh.com");
    assert_eq!(key_type(&[0, 0]), "");
}
