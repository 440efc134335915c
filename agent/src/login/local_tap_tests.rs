//! Taps on keys attached to this host, in-process: a scripted PIV card
//! behind [`HostPiv`] with a minted attestation chain, and the software
//! FIDO2 authenticator behind the FIDO source.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use pam_mfa_protocol::{PamContext, PamHook, PromptStyle, ResponseBody};

use super::conversation::{answer, cancel};
use super::flow::handle_begin;
use super::local_tap::{poll, TAP_CUE};
use super::tap::{Conversation, Step};
use super::verdict::PeerIds;
use crate::attached::{AttachedKeys, HostPiv, HostPivCard, Pin, PinRefused};
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::Authenticator;
use crate::piv::tests::chain::{Minted, Slot};
use crate::piv::tests::device::yaml_pem_list;
use crate::piv::PivSlot;
use crate::policy::load_bundle_str;
use crate::state::AgentState;

const SERIAL: u32 = 12_345_678;
const RP: &str = "e2e.example.com";

/// What the scripted card does and saw.
struct CardState {
    key: p256::ecdsa::SigningKey,
    serial: u32,
    pin: String,
    tries: u8,
    /// A sign waits this long (a touch that takes a while, or never comes).
    sign_delay: Duration,
    touched: bool,
    verifies: u32,
    signs: u32,
}

#[derive(Clone)]
struct FakeHost {
    card: Option<Arc<Mutex<CardState>>>,
}

struct FakeCard(Arc<Mutex<CardState>>);

impl HostPiv for FakeHost {
    fn open(&self, _reader: Option<&str>) -> Result<Box<dyn HostPivCard>, String> {
        match &self.card {
            Some(c) => Ok(Box::new(FakeCard(c.clone()))),
            None => Err("no smart card found".into()),
        }
    }
}

impl HostPivCard for FakeCard {
    fn serial(&mut self) -> Result<u32, String> {
        Ok(self.0.lock().unwrap().serial)
    }

    fn verify_pin(&mut self, pin: &Pin) -> Result<(), PinRefused> {
        let mut c = self.0.lock().unwrap();
        c.verifies += 1;
        if pin.expose() == c.pin {
            c.tries = 3;
            Ok(())
        } else {
            c.tries -= 1;
            Err(PinRefused::Wrong { left: c.tries })
        }
    }

    fn sign(&mut self, slot: PivSlot, digest: &[u8]) -> Result<Vec<u8>, String> {
        assert_eq!(slot, PivSlot::Signature);
        let delay = self.0.lock().unwrap().sign_delay;
        std::thread::sleep(delay);
        let mut c = self.0.lock().unwrap();
        if !c.touched {
            return Err("security status not satisfied (not touched)".into());
        }
        c.signs += 1;
        let sig: p256::ecdsa::Signature = c.key.sign_prehash(digest).map_err(|e| e.to_string())?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// The private scalar of rcgen's P-256 key (PKCS#8: ECPrivateKey's
/// `02 01 01 04 20` then 32 bytes).
fn signing_key(minted: &Minted) -> p256::ecdsa::SigningKey {
    let der = minted.slot.key.serialize_der();
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("ECPrivateKey");
    p256::ecdsa::SigningKey::from_slice(&der[at + 5..at + 37]).expect("scalar")
}

struct Fixture {
    state: AgentState,
    card: Arc<Mutex<CardState>>,
    _root: TempFile,
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An agent on node `env: prod` (role: `require`), `login-t` a desktop
/// service, alice's PIV key (policies `pin`/`touch` as Yubico numbers them)
/// registered under a minted root the agent trusts, and optionally a
/// WebAuthn credential of `soft`.
fn fixture(
    require: &str,
    pin: u8,
    touch: u8,
    pin_cache: &str,
    soft: Option<&SoftAuthenticator>,
) -> Fixture {
    let minted = Minted::new(&Slot {
        pin,
        touch,
        serial: Some(SERIAL),
        ..Slot::default()
    });
    let root = TempFile(std::env::temp_dir().join(format!(
        "pam-mfa-local-tap-{}-{:?}.pem",
        std::process::id(),
        std::thread::current().id()
    )));
    std::fs::write(&root.0, minted.root.cert.pem()).unwrap();
    let cfg = AgentConfig::parse(
        &format!(
            "node:\n  name: prod3\n  labels: {{env: prod}}\nservices:\n  login-t: desktop\n  sudo-t: admin\n  sshd-t: ssh\n\
             piv:\n  attestation_roots: [{}]\nattached_keys:\n  timeout: 5s\n",
            root.0.display()
        ),
        "test",
    )
    .unwrap();
    let mut webauthn = String::new();
    if let Some(a) = soft {
        webauthn = format!(
            "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: alice-fido}}\nspec:\n  user: alice\n  webauthn: {}\n",
            a.registration()
        );
    }
    let policy = format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: {require}\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  require_session_mfa: false\n  webauthn: {{rp_id: {RP}}}\n  hardware_key: {{pin_cache_timeout: {pin_cache}}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n---\n\
         kind: mfa_device\nversion: v1\nmetadata: {{name: alice-piv}}\nspec:\n  user: alice\n  piv:\n    attestation_chain: {}\n{webauthn}",
        yaml_pem_list(&minted.chain_pem())
    );
    let mut state = AgentState::new(cfg, AuditSink::Stderr, Arc::new(SystemTime::now)).unwrap();
    state.store.install(
        load_bundle_str(&policy, "test.yaml").unwrap(),
        SystemTime::now(),
    );
    let card = Arc::new(Mutex::new(CardState {
        key: signing_key(&minted),
        serial: SERIAL,
        pin: "123456".into(),
        tries: 3,
        sign_delay: Duration::ZERO,
        touched: true,
        verifies: 0,
        signs: 0,
    }));
    state.attached = AttachedKeys::new(Arc::new(FakeHost {
        card: Some(card.clone()),
    }));
    state.attached.fido = Arc::new(|| Ok(Vec::new()));
    Fixture {
        state,
        card,
        _root: root,
    }
}

impl Fixture {
    fn begin(&self, service: &str, ssh_auth_sock: Option<&str>) -> Step {
        let ctx = PamContext {
            service: service.into(),
            user: "root".into(),
            ruser: (service == "sudo-t").then(|| "root".into()),
            tty: Some("tty3".into()),
            ssh_auth_sock: ssh_auth_sock.map(Into::into),
            ..Default::default()
        };
        handle_begin(
            &self.state,
            PeerIds {
                pid: std::process::id() as i32,
                uid: 0,
            },
            PamHook::Auth,
            &ctx,
        )
    }

    /// Polls (as the module does) until the conversation ends; the bodies
    /// seen on the way, the last one final.
    fn poll_to_end(&self, mut step: Step) -> (Vec<ResponseBody>, Option<Box<Conversation>>) {
        let mut seen = Vec::new();
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            match step {
                Step::Done(body) => {
                    seen.push(body);
                    return (seen, None);
                }
                Step::Ask(conv, body) => {
                    let waiting = matches!(body, ResponseBody::Wait { .. });
                    seen.push(body);
                    if !waiting || Instant::now() > until {
                        return (seen, Some(conv));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    step = poll(&self.state, conv);
                }
            }
        }
    }
}

fn is_allow(b: &ResponseBody) -> bool {
    matches!(b, ResponseBody::Allow { .. })
}

fn deny_text(b: &ResponseBody) -> String {
    match b {
        ResponseBody::Deny { message } => message.clone(),
        other => panic!("not a deny: {other:?}"),
    }
}

fn cue_shown(seen: &[ResponseBody]) -> bool {
    seen.iter()
        .any(|b| matches!(b, ResponseBody::Wait { message: Some(m), .. } if m == TAP_CUE))
}

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
fn sudo_with_a_forwarded_agent_keeps_the_challenge_prompt() {
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    // Local sudo: the attached key.
    let (seen, _) = f.poll_to_end(f.begin("sudo-t", None));
    assert!(
        cue_shown(&seen) && is_allow(seen.last().unwrap()),
        "{seen:?}"
    );
    // A forwarded agent means an SSH session: not this host's keys.
    let step = f.begin("sudo-t", Some("/nonexistent/agent.sock"));
    assert!(
        !matches!(step, Step::Ask(_, ResponseBody::Wait { .. })),
        "sudo with a forwarded agent tapped a local key"
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
        handle_begin(&f.state, PeerIds { pid: 1, uid: 0 }, PamHook::Account, &ctx)
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
