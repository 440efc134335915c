//! What the local tap tests run against, in-process: a scripted PIV card
//! behind [`HostPiv`] with a minted attestation chain, the software FIDO2
//! authenticator behind the FIDO source, and an agent trusting them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use p256::ecdsa::signature::hazmat::PrehashSigner;
use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::flow::handle_begin;
use super::local_tap::{poll, TAP_CUE};
use super::tap::{Conversation, Step};
use super::verdict::PeerIds;
use crate::attached::{AttachedKeys, HostPiv, HostPivCard, Pin, PinRefused};
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::fido2::soft::SoftAuthenticator;
use crate::piv::tests::chain::{Minted, Slot};
use crate::piv::tests::device::yaml_pem_list;
use crate::piv::PivSlot;
use crate::policy::load_bundle_str;
use crate::state::AgentState;

pub(super) const SERIAL: u32 = 12_345_678;
pub(super) const RP: &str = "e2e.example.com";

/// What the scripted card does and saw.
pub(super) struct CardState {
    pub(super) key: p256::ecdsa::SigningKey,
    pub(super) serial: u32,
    pub(super) pin: String,
    pub(super) tries: u8,
    /// A sign waits this long (a touch that takes a while, or never comes).
    pub(super) sign_delay: Duration,
    pub(super) touched: bool,
    pub(super) verifies: u32,
    pub(super) signs: u32,
}

#[derive(Clone)]
pub(super) struct FakeHost {
    pub(super) card: Option<Arc<Mutex<CardState>>>,
}

pub(super) struct FakeCard(Arc<Mutex<CardState>>);

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
pub(super) fn signing_key(minted: &Minted) -> p256::ecdsa::SigningKey {
    let der = minted.slot.key.serialize_der();
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("ECPrivateKey");
    p256::ecdsa::SigningKey::from_slice(&der[at + 5..at + 37]).expect("scalar")
}

pub(super) struct Fixture {
    pub(super) state: AgentState,
    pub(super) card: Arc<Mutex<CardState>>,
    pub(super) _root: TempFile,
}

pub(super) struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An agent on node `env: prod` (role: `require`), `login-t` a desktop
/// service, alice's PIV key (policies `pin`/`touch` as Yubico numbers them)
/// registered under a minted root the agent trusts, and optionally a
/// WebAuthn credential of `soft`.
pub(super) fn fixture(
    require: &str,
    pin: u8,
    touch: u8,
    pin_cache: &str,
    soft: Option<&SoftAuthenticator>,
) -> Fixture {
    fixture_recording(require, pin, touch, pin_cache, soft, None)
}

/// As [`fixture`], the WebAuthn device recording `recorded_be` as the
/// backup-eligible flag Teleport keeps (`credential_backup_eligible`).
pub(super) fn fixture_recording(
    require: &str,
    pin: u8,
    touch: u8,
    pin_cache: &str,
    soft: Option<&SoftAuthenticator>,
    recorded_be: Option<bool>,
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
        let mut registration = a.registration();
        if let Some(be) = recorded_be {
            registration["credential_backup_eligible"] = be.into();
        }
        webauthn = format!(
            "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: alice-fido}}\nspec:\n  user: alice\n  webauthn: {registration}\n"
        );
    }
    let policy = format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: {require}\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: webauthn\n  require_session_mfa: false\n  webauthn: {{rp_id: {RP}}}\n  hardware_key: {{pin_cache_timeout: {pin_cache}}}\n---\n\
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
    pub(super) fn begin(&self, service: &str, ssh_auth_sock: Option<&str>) -> Step {
        self.begin_with(PamContext {
            ssh_auth_sock: ssh_auth_sock.map(Into::into),
            ..Self::context(service)
        })
    }

    /// The context of a login to `service` as root (by root for sudo).
    pub(super) fn context(service: &str) -> PamContext {
        PamContext {
            service: service.into(),
            user: "root".into(),
            ruser: (service == "sudo-t").then(|| "root".into()),
            tty: Some("tty3".into()),
            ..Default::default()
        }
    }

    /// `begin` from this test process.
    pub(super) fn begin_with(&self, ctx: PamContext) -> Step {
        handle_begin(
            &self.state,
            PeerIds::of_process(std::process::id() as i32, 0),
            PamHook::Auth,
            &ctx,
            Ok(()),
        )
    }

    /// Polls (as the module does) until the conversation ends; the bodies
    /// seen on the way, the last one final.
    pub(super) fn poll_to_end(
        &self,
        mut step: Step,
    ) -> (Vec<ResponseBody>, Option<Box<Conversation>>) {
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

pub(super) fn is_allow(b: &ResponseBody) -> bool {
    matches!(b, ResponseBody::Allow { .. })
}

pub(super) fn deny_text(b: &ResponseBody) -> String {
    match b {
        ResponseBody::Deny { message, .. } => message.clone(),
        other => panic!("not a deny: {other:?}"),
    }
}

pub(super) fn cue_shown(seen: &[ResponseBody]) -> bool {
    seen.iter()
        .any(|b| matches!(b, ResponseBody::Wait { message: Some(m), .. } if m == TAP_CUE))
}
