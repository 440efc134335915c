//! Taps on keys attached to this host, in-process: PIV taps (the cue, touch
//! and PIN policies, a wrong key, the deadline, cancel), a FIDO2 key when
//! no card is there (inside an SSH session: `local_tap_ssh_session_tests`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{PamContext, PamHook, PromptStyle, ResponseBody};

use super::conversation::{answer, cancel};
use super::flow::handle_begin;
use super::local_tap_fixture::*;
use super::tap::Step;
use super::verdict::PeerIds;
use crate::attached::PER_PERSON_TAPS;
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::{Authenticator, Fido2Error, GetAssertionRequest, GetAssertionResponse};

// Yubico's numbering: PIN 1 never, 2 once, 3 always; touch 1 never, 2 always.

#[test]
fn touch_always_key_taps_on_a_desktop_login_with_the_cue() {
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(cue_shown(&seen), "{seen:?}");
    assert!(is_allow(seen.last().unwrap()), "{seen:?}");
    assert_eq!(f.card.lock().unwrap().signs, 1);
    assert_eq!(f.card.lock().unwrap().verifies, 0, "no PIN for PIN-never");
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    f.card.lock().unwrap().key = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(
        deny_text(seen.last().unwrap()).contains("does not verify"),
        "{seen:?}"
    );
}

#[test]
fn touch_never_key_is_refused_without_touching_the_card() {
    let f = fixture("hardware_key_touch", 1, 1, "0s", None);
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    let text = deny_text(seen.last().unwrap());
    assert!(text.contains("none of your registered keys"), "{text}");
    assert_eq!(f.card.lock().unwrap().signs, 0);
}

#[test]
fn untouched_card_refuses() {
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    f.card.lock().unwrap().touched = false;
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(
        deny_text(seen.last().unwrap()).contains("did not sign"),
        "{seen:?}"
    );
}

#[test]
fn pin_key_asks_the_pin_refuses_a_wrong_one_and_caches_the_right_one() {
    let f = fixture("hardware_key_pin", 2, 1, "15m", None);
    let ask = |answers: &[&str]| -> Vec<ResponseBody> {
        let step = f.begin("login-t", None);
        let Step::Ask(conv, ResponseBody::Prompt { prompts }) = step else {
            panic!("no PIN prompt")
        };
        assert_eq!(prompts.len(), 1);
        assert_eq!(prompts[0].style, PromptStyle::EchoOff);
        assert!(prompts[0].text.contains("PIN"), "{}", prompts[0].text);
        let answers: Vec<String> = answers.iter().map(|a| a.to_string()).collect();
        f.poll_to_end(answer(&f.state, conv, &answers)).0
    };
    let seen = ask(&["000000"]);
    let text = deny_text(seen.last().unwrap());
    assert!(
        text.contains("wrong PIN") && text.contains("2 tries left"),
        "{text}"
    );
    assert_eq!(f.card.lock().unwrap().signs, 0);
    let seen = ask(&["123456"]);
    assert!(is_allow(seen.last().unwrap()), "{seen:?}");
    // Within pin_cache_timeout: no prompt, the card still gets the PIN.
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(
        !seen
            .iter()
            .any(|b| matches!(b, ResponseBody::Prompt { .. })),
        "{seen:?}"
    );
    assert!(is_allow(seen.last().unwrap()), "{seen:?}");
    assert_eq!(f.card.lock().unwrap().verifies, 3);
    // A PIN changed on the card: the remembered one is refused and forgotten.
    f.card.lock().unwrap().pin = "654321".into();
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(
        deny_text(seen.last().unwrap()).contains("remembered PIN"),
        "{seen:?}"
    );
    assert!(matches!(
        f.begin("login-t", None),
        Step::Ask(_, ResponseBody::Prompt { .. })
    ));
}

#[test]
fn an_untouched_key_is_refused_at_the_deadline_and_cancel_ends_a_tap() {
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    f.card.lock().unwrap().sign_delay = Duration::from_secs(7);
    let started = Instant::now();
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    let text = deny_text(seen.last().unwrap());
    assert!(text.contains("not touched within 5 s"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(7));
    // Cancel while waiting: a refusal at once.
    let Step::Ask(conv, ResponseBody::Wait { .. }) = f.begin("login-t", None) else {
        panic!("no wait")
    };
    let body = cancel(&f.state, conv);
    assert!(deny_text(&body).contains("cancelled"), "{body:?}");
}

#[test]
fn no_card_attached_is_a_clear_refusal() {
    let mut f = fixture("hardware_key_touch", 1, 2, "0s", None);
    f.state.attached.piv = Arc::new(FakeHost { card: None });
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    let text = deny_text(seen.last().unwrap());
    assert!(
        text.contains("no registered security key of yours is attached"),
        "{text}"
    );
}

#[test]
fn fido2_key_attached_to_this_host_taps_when_no_piv_card_is_there() {
    let soft = SoftAuthenticator::from_seed(RP, b"local-tap-test");
    let mut f = fixture("true", 1, 2, "0s", Some(&soft));
    f.state.attached.piv = Arc::new(FakeHost { card: None });
    let key = Arc::new(Mutex::new(Some(soft)));
    f.state.attached.fido = Arc::new(move || {
        let a = key.lock().unwrap().take().expect("one tap");
        Ok(vec![Box::new(a) as Box<dyn Authenticator>])
    });
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(cue_shown(&seen), "{seen:?}");
    assert!(is_allow(seen.last().unwrap()), "{seen:?}");
}

/// (f) in-process: sshd accepted the PIV key (SSH_AUTH_INFO_0); its
/// attested class decides, and serial number validation applies.
#[test]
fn a_piv_login_key_over_ssh_has_its_attested_class() {
    let ssh = |f: &Fixture| {
        let bundle = f.state.store.current().unwrap();
        let (t, b) = bundle
            .devices()
            .iter()
            .find_map(|d| match &d.kind {
                crate::policy::DeviceKind::Piv(p) => p.ssh_key.clone(),
                _ => None,
            })
            .expect("the piv device has an OpenSSH key");
        let ctx = PamContext {
            service: "sshd-t".into(),
            user: "root".into(),
            rhost: Some("192.0.2.1".into()),
            ssh_auth_info: Some(format!("publickey {t} {b}\n")),
            ..Default::default()
        };
        handle_begin(
            &f.state,
            PeerIds::of_process(1, 0),
            PamHook::Account,
            &ctx,
            Ok(()),
        )
    };
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    assert!(matches!(ssh(&f), Step::Done(ResponseBody::Allow { .. })));
    // Touch never: a hardware key, not a touch one.
    let f = fixture("hardware_key_touch", 1, 1, "0s", None);
    let Step::Done(body) = ssh(&f) else { panic!() };
    assert!(deny_text(&body).contains("touch"), "{body:?}");
    // Serial validation on, alice's trait does not list the card.
    let f = fixture(
        "hardware_key_touch",
        1,
        2,
        "0s, serial_number_validation: {enabled: true}",
        None,
    );
    let Step::Done(body) = ssh(&f) else { panic!() };
    assert!(
        deny_text(&body).contains(&format!("serial number {SERIAL}")),
        "{body:?}"
    );
}

/// A synced passkey (its authenticator sets BE) proves session MFA but is
/// no hardware key: a desktop login under `hardware_key_touch` or plain
/// `hardware_key` (before, plain `hardware_key` took it) refuses it,
/// naming the policy, and takes the same tap from a key whose credential
/// stays on it.
#[test]
fn a_synced_passkey_does_not_meet_a_hardware_key_requirement() {
    for (require, synced, allowed) in [
        ("hardware_key_touch", true, false),
        ("hardware_key_touch", false, true),
        ("hardware_key", true, false),
        ("hardware_key", false, true),
    ] {
        let mut soft = SoftAuthenticator::from_seed(RP, b"local-tap-passkey");
        soft.backup_eligible = synced;
        let mut f = fixture(require, 1, 2, "0s", Some(&soft));
        f.state.attached.piv = Arc::new(FakeHost { card: None });
        let key = Arc::new(Mutex::new(Some(soft)));
        f.state.attached.fido = Arc::new(move || {
            let a = key.lock().unwrap().take().expect("one tap");
            Ok(vec![Box::new(a) as Box<dyn Authenticator>])
        });
        let (seen, _) = f.poll_to_end(f.begin("login-t", None));
        let last = seen.last().unwrap();
        if allowed {
            assert!(is_allow(last), "{require}: {seen:?}");
        } else {
            let text = deny_text(last);
            assert!(text.contains("is a synced passkey"), "{text}");
            assert!(text.contains(&format!("needs {require}:")), "{text}");
        }
    }
}

/// An attached key's assertion is held to the backup-eligible flag
/// recorded for its credential (go-webauthn `validateLogin`): recorded
/// backup-eligible, an assertion that clears BE is refused, not taken for
/// a hardware key's; recorded not, the same assertion is allowed.
#[test]
fn an_attached_keys_backup_flag_must_match_the_recorded_one() {
    for (recorded, allowed) in [(true, false), (false, true)] {
        let soft = SoftAuthenticator::from_seed(RP, b"local-tap-recorded");
        assert!(!soft.backup_eligible, "the assertion clears BE");
        let mut f = fixture_recording(
            "hardware_key_touch",
            1,
            2,
            "0s",
            Some(&soft),
            Some(recorded),
        );
        f.state.attached.piv = Arc::new(FakeHost { card: None });
        let key = Arc::new(Mutex::new(Some(soft)));
        f.state.attached.fido = Arc::new(move || {
            let a = key.lock().unwrap().take().expect("one tap");
            Ok(vec![Box::new(a) as Box<dyn Authenticator>])
        });
        let (seen, _) = f.poll_to_end(f.begin("login-t", None));
        let last = seen.last().unwrap();
        if allowed {
            assert!(is_allow(last), "{seen:?}");
        } else {
            let text = deny_text(last);
            assert!(
                text.contains("Teleport recorded it backup-eligible"),
                "{text}"
            );
        }
    }
}

/// A key nobody touches: it counts that it was asked, then waits until
/// its login ends (and counts that it was told) or the deadline.
struct UntouchedKey {
    stop: Option<Arc<AtomicBool>>,
    asked: Arc<AtomicUsize>,
    told: Arc<AtomicUsize>,
}

impl Authenticator for UntouchedKey {
    fn name(&self) -> String {
        "untouched test key".into()
    }

    fn transact(&mut self, _request: &[u8], _deadline: Instant) -> Result<Vec<u8>, Fido2Error> {
        Err(Fido2Error::Io("not used".into()))
    }

    fn stop_when(&mut self, cancelled: Arc<AtomicBool>) {
        self.stop = Some(cancelled);
    }

    fn get_assertion(
        &mut self,
        _req: &GetAssertionRequest,
        deadline: Instant,
    ) -> Result<GetAssertionResponse, Fido2Error> {
        // Past the tap's deadline too (20 s more), until told to stop: on a
        // loaded machine the test may reach its cancel after the 5 s
        // deadline, and a key that gave up by itself is never told.
        let until = deadline + Duration::from_secs(20);
        self.asked.fetch_add(1, Ordering::SeqCst);
        while Instant::now() < until {
            if self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                self.told.fetch_add(1, Ordering::SeqCst);
                return Err(Fido2Error::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(Fido2Error::Timeout)
    }
}

/// One person holds at most their share of the host's attached-key taps
/// (a user can start taps for themselves with a desktop service name),
/// so the person at the desk keeps theirs; a cancelled login frees its
/// slot at once, not at the deadline.
#[test]
fn one_person_cannot_hold_every_attached_key_tap() {
    let soft = SoftAuthenticator::from_seed(RP, b"local-tap-starve");
    let mut f = fixture("true", 1, 2, "0s", Some(&soft));
    f.state.attached.piv = Arc::new(FakeHost { card: None });
    let (asked, told) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, t) = (asked.clone(), told.clone());
    f.state.attached.fido = Arc::new(move || {
        Ok(vec![Box::new(UntouchedKey {
            stop: None,
            asked: a.clone(),
            told: t.clone(),
        }) as Box<dyn Authenticator>])
    });
    let waiting = |step: Step| match step {
        Step::Ask(conv, ResponseBody::Wait { .. }) => conv,
        Step::Ask(_, body) | Step::Done(body) => panic!("no tap running: {body:?}"),
    };
    let mine: Vec<_> = (0..PER_PERSON_TAPS)
        .map(|_| waiting(f.begin("login-t", None)))
        .collect();
    let Step::Done(body) = f.begin("login-t", None) else {
        panic!("a tap beyond the person's share was started")
    };
    let text = deny_text(&body);
    assert!(
        text.contains(&format!("you already have {PER_PERSON_TAPS} taps running")),
        "{text}"
    );
    // Someone else (a screen locker running as uid 4242) still taps.
    let ctx = PamContext {
        service: "login-t".into(),
        user: "root".into(),
        ..Default::default()
    };
    let other = PeerIds {
        pid: std::process::id() as i32,
        uid: 4242,
        real_uid: None,
    };
    let theirs = waiting(handle_begin(&f.state, other, PamHook::Auth, &ctx, Ok(())));
    // A cancelled tap's key is told to stop: its slot is free again.
    let owner = {
        let peer = PeerIds::of_process(std::process::id() as i32, 0);
        super::local_tap::owner(peer, &ctx)
    };
    // Cancelled before its key is asked, a tap has nothing to tell it:
    // cancel once every key (mine and theirs) waits for its touch.
    let until = Instant::now() + Duration::from_secs(10);
    while asked.load(Ordering::SeqCst) < PER_PERSON_TAPS + 1 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut mine = mine.into_iter();
    assert!(deny_text(&cancel(&f.state, mine.next().unwrap())).contains("cancelled"));
    let until = Instant::now() + Duration::from_secs(10);
    while f.state.attached.active.running(&owner).0 == PER_PERSON_TAPS && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(told.load(Ordering::SeqCst), 1, "the key was not told");
    drop(waiting(f.begin("login-t", None)));
    drop((mine, theirs));
}
