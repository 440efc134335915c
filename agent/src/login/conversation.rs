//! The keyboard-interactive conversation of one login: a challenge, the
//! person's answer (from `mfactl tap`), its verification, and for sudo/su
//! inside an SSH session the forwarded ssh-agent instead of a prompt.

use std::time::{Duration, Instant};

use base64::Engine;
use pam_mfa_protocol::{PamContext, Prompt, PromptStyle, ResponseBody};

use super::evidence::{check, KeyClass};
use super::flow::{device_locked, finish, tap_key_policy, PeerIds, Verdict};
use super::local_tap;
use super::local_tap::LocalTap;
use crate::audit::AuditEvent;
use crate::challenge::{key_digest, Answer, Challenge};
use crate::piv::AttestedKey;
use crate::policy::ServiceClass;
use crate::policy::{Bundle, DeviceKind, Requirement};
use crate::state::AgentState;
use crate::verify::piv_tap::{selector_of_hash, verify_piv_tap};
use crate::verify::ssh_sk::verify_sk_signature;
use crate::verify::webauthn::{verify_assertion, WebauthnCredential};

/// What the connection does next.
pub enum Step {
    /// Send this and end the conversation.
    Done(ResponseBody),
    /// Send this prompt and keep the conversation for the answer.
    Ask(Box<Conversation>, ResponseBody),
}

/// A registered key that may answer.
#[derive(Debug, Clone)]
pub(super) struct TapDevice {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: TapKind,
}

#[derive(Debug, Clone)]
pub(super) enum TapKind {
    /// An OpenSSH security key: its wire blob and SHA-256 of it.
    SshSk { key_blob: Vec<u8>, digest: [u8; 32] },
    /// A WebAuthn credential (Teleport's mfa_device `webauthn` form).
    Webauthn(WebauthnCredential),
    /// A PIV key (mfa_device `piv` form) whose attestation chain verified
    /// against the agent's roots, with the cap's serial rule applied; the
    /// selector is the first 8 bytes of SHA-256 of the attested key's SPKI.
    Piv {
        selector: [u8; 8],
        key: Box<AttestedKey>,
    },
}

impl TapDevice {
    fn sk_blob(&self) -> Option<&[u8]> {
        match &self.kind {
            TapKind::SshSk { key_blob, .. } => Some(key_blob),
            TapKind::Webauthn(_) | TapKind::Piv { .. } => None,
        }
    }
}

/// A login waiting for its tap.
pub struct Conversation {
    pub(super) challenge: Challenge,
    pub(super) user: String,
    login: String,
    pub(super) requirement: Requirement,
    pub(super) devices: Vec<TapDevice>,
    tries_left: u32,
    pub(super) ev: AuditEvent,
    pub(super) verdict: Verdict,
    pub(super) service: String,
    rhost: Option<String>,
    peer_pid: i32,
    /// Only taps on behalf of root peers (sshd, sudo) leave grants and
    /// reuse entries behind.
    peer_uid: u32,
    pub(super) class: ServiceClass,
    /// The cluster's WebAuthn rp_id, when WebAuthn keys may answer.
    pub(super) rp_id: Option<String>,
    /// A tap on a key attached to this host, when that is the way.
    pub(super) local: Option<LocalTap>,
}

/// How long the agent waits for a forwarded ssh-agent to sign (the person
/// touches the key meanwhile); under the module's default 10 s deadline.
const FORWARDED_AGENT_DEADLINE: Duration = Duration::from_secs(8);

/// The user's registered keys that can answer a challenge. A WebAuthn
/// credential needs the cluster's rp_id; without one it cannot answer. A
/// PIV key needs its attestation to verify against the agent's roots (and
/// the cap's serial rule to pass); why one does not is returned beside.
fn tap_devices(state: &AgentState, bundle: &Bundle, user: &str) -> (Vec<TapDevice>, Vec<String>) {
    let rp_known = bundle.cap.webauthn_rp_id.is_some();
    let no_traits = Default::default();
    let traits = bundle
        .users()
        .get(user)
        .map(|u| &u.traits)
        .unwrap_or(&no_traits);
    let mut refused = Vec::new();
    let devices = bundle
        .devices_for_user(user)
        .into_iter()
        .filter_map(|d| {
            let kind = match &d.kind {
                DeviceKind::SshSk { key_blob, .. } => {
                    let blob = base64::engine::general_purpose::STANDARD
                        .decode(key_blob)
                        .ok()?;
                    TapKind::SshSk {
                        digest: key_digest(&blob),
                        key_blob: blob,
                    }
                }
                DeviceKind::Webauthn(spec) if rp_known => {
                    TapKind::Webauthn(WebauthnCredential::from_device_spec(spec).ok()?)
                }
                DeviceKind::Piv(_) => match state.piv.device_class(d, traits, &bundle.cap) {
                    Ok(key) => TapKind::Piv {
                        selector: selector_of_hash(&key.attestation.public_key_spki_sha256),
                        key: Box::new(key),
                    },
                    Err(e) => {
                        refused.push(e);
                        return None;
                    }
                },
                _ => return None,
            };
            Some(TapDevice {
                id: d.id.clone(),
                name: d.name.clone(),
                kind,
            })
        })
        .collect();
    (devices, refused)
}

fn fresh_challenge(state: &AgentState, login: &str) -> Challenge {
    let mut nonce = [0u8; 16];
    let mut filled = 0;
    while filled < nonce.len() {
        match rustix::rand::getrandom(&mut nonce[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("the kernel's random source failed: {e}"),
        }
    }
    Challenge::new(
        &state.node.name,
        login,
        nonce,
        state.now(),
        state.config.challenge.ttl,
    )
}

/// Starts the tap for a login that needs one.
#[allow(clippy::too_many_arguments)]
pub(super) fn start(
    state: &AgentState,
    peer: PeerIds,
    ev: AuditEvent,
    mut v: Verdict,
    bundle: &Bundle,
    user: String,
    login: &str,
    ctx: &PamContext,
    class: ServiceClass,
) -> Step {
    let (mut devices, refused) = tap_devices(state, bundle, &user);
    if !refused.is_empty() {
        v.reason = format!("{}; PIV keys refused: {}", v.reason, refused.join("; "));
    }
    // A locked device cannot answer.
    devices.retain(|d| !device_locked(state, bundle, login, &user, class, &d.id));
    let Some(requirement) = v.requirement else {
        return Step::Done(finish(state, ev, v));
    };
    if local_tap::wanted(state, class, ctx, peer) {
        let conv = Box::new(Conversation {
            challenge: fresh_challenge(state, login),
            user,
            login: login.to_string(),
            requirement,
            devices,
            tries_left: 1,
            ev,
            verdict: v,
            service: ctx.service.clone(),
            rhost: ctx.rhost.clone(),
            peer_pid: peer.pid,
            peer_uid: peer.uid,
            class,
            rp_id: bundle.cap.webauthn_rp_id.clone(),
            local: None,
        });
        return local_tap::begin(state, conv, bundle);
    }
    if devices.is_empty() {
        v.message = format!(
            "{} {user} has no registered security key: ask your security team to register one.",
            v.message
        );
        v.reason = format!("{}; no registered security key to challenge", v.reason);
        return Step::Done(finish(state, ev, v));
    }
    let challenge = fresh_challenge(state, login);
    let mut conv = Box::new(Conversation {
        challenge,
        user,
        login: login.to_string(),
        requirement,
        devices,
        tries_left: state.config.challenge.tries,
        ev,
        verdict: v,
        service: ctx.service.clone(),
        rhost: ctx.rhost.clone(),
        peer_pid: peer.pid,
        peer_uid: peer.uid,
        class,
        rp_id: bundle.cap.webauthn_rp_id.clone(),
        local: None,
    });
    if class == ServiceClass::Admin {
        if let Some(sock) = ctx.ssh_auth_sock.as_deref().filter(|s| !s.is_empty()) {
            match forwarded_agent_tap(state, conv, sock) {
                Ok(step) => return step,
                Err((back, why)) => {
                    conv = back;
                    conv.verdict.reason =
                        format!("{}; forwarded ssh-agent: {why}", conv.verdict.reason);
                }
            }
        }
    }
    let prompt = conv.prompt(None);
    Step::Ask(conv, prompt)
}

impl Conversation {
    /// Whether a lock in force covers `device` for this login.
    pub(super) fn is_locked(&self, state: &AgentState, bundle: &Bundle, device: &str) -> bool {
        device_locked(state, bundle, &self.login, &self.user, self.class, device)
    }

    fn prompt(&self, error: Option<&str>) -> ResponseBody {
        let mut prompts = Vec::new();
        if let Some(e) = error {
            prompts.push(Prompt {
                style: PromptStyle::Error,
                text: format!("pam-mfa: {e}"),
            });
        }
        prompts.push(Prompt {
            style: PromptStyle::Info,
            text: format!(
                "pam-mfa: {} requires MFA ({}) for {}. Tap your security key: on your computer run `mfactl tap {}` (or use mfactl as SSH_ASKPASS), then enter its answer.",
                self.challenge.node,
                self.requirement.name(),
                self.user,
                // Also here: sudo -p and SUDO_PROMPT replace the prompt text.
                self.challenge.text()
            ),
        });
        // mfactl tap needs the rp_id to ask a FIDO2 key (WebAuthn assertions
        // are bound to it); the challenge text is what gets signed.
        let rp = match (
            &self.rp_id,
            self.devices
                .iter()
                .any(|d| matches!(d.kind, TapKind::Webauthn(_))),
        ) {
            (Some(rp), true) => format!(" rp_id={rp}"),
            _ => String::new(),
        };
        // mfactl tap asks a PIV card for the slots of the registered keys.
        let mut slots: Vec<&str> = self
            .devices
            .iter()
            .filter_map(|d| match &d.kind {
                TapKind::Piv { key, .. } => key.attestation.slot.map(|s| s.name()),
                _ => None,
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        let piv = if self
            .devices
            .iter()
            .any(|d| matches!(d.kind, TapKind::Piv { .. }))
        {
            format!(
                " piv={}",
                if slots.is_empty() {
                    "any".to_string()
                } else {
                    slots.join(",")
                }
            )
        } else {
            String::new()
        };
        let uv = if tap_key_policy(self.requirement.key_policy).needs_pin() {
            " uv=required"
        } else {
            ""
        };
        prompts.push(Prompt {
            style: PromptStyle::EchoOn,
            text: format!(
                "MFA challenge {}{rp}{piv}{uv} {} answer: ",
                self.challenge.text(),
                crate::challenge::CLAIMS_WELCOME
            ),
        });
        ResponseBody::Prompt { prompts }
    }

    /// The verdict of a verified tap: allow, grant the account phase, and
    /// remember it for the reuse window.
    pub(super) fn allow(
        mut self: Box<Self>,
        state: &AgentState,
        class: KeyClass,
        device: &TapDevice,
        how: &str,
    ) -> Step {
        let evidence = format!("{how}_{}", class.name());
        // Locks that appeared while the person was tapping apply too.
        let locked = match state.store.current() {
            Some(bundle) => device_locked(
                state,
                &bundle,
                &self.login,
                &self.user,
                self.class,
                &device.id,
            ),
            None => true,
        };
        if locked {
            self.verdict.message = format!("pam-mfa: access with {} is locked", device.name);
            self.verdict.reason = format!(
                "{}; {} is locked (checked after the tap)",
                self.verdict.reason, device.name
            );
            let Conversation { ev, verdict, .. } = *self;
            return Step::Done(finish(state, ev, verdict));
        }
        self.verdict.allow = true;
        self.verdict.message.clear();
        self.verdict.evidence = Some(evidence.clone());
        self.verdict.device = Some(device.id.clone());
        self.verdict.reason = format!(
            "{}; {how} with {} ({}) verified",
            self.verdict.reason,
            device.name,
            class.name()
        );
        let now = state.now();
        if self.peer_uid != 0 {
            let Conversation { ev, verdict, .. } = *self;
            return Step::Done(finish(state, ev, verdict));
        }
        state.grants.record(
            &self.service,
            &self.login,
            self.rhost.as_deref(),
            self.peer_pid,
            &self.user,
            &evidence,
            Some(&device.id),
            now,
        );
        state.reuse.record(
            &self.user,
            &self.login,
            self.rhost.as_deref(),
            class,
            &device.id,
            now,
        );
        let Conversation { ev, verdict, .. } = *self;
        Step::Done(finish(state, ev, verdict))
    }

    /// Checks a security-key signature of this conversation's challenge:
    /// the flags and counter that were signed, not the ones that were asked.
    fn verify_sk(
        &self,
        state: &AgentState,
        device: &TapDevice,
        signature: &[u8],
    ) -> Result<KeyClass, String> {
        let text = self.challenge.text();
        let key_blob = device.sk_blob().ok_or("not a security-key device")?;
        let signed = verify_sk_signature(key_blob, signature, text.as_bytes())
            .map_err(|e| format!("the signature by {} does not verify: {e}", device.name))?;
        self.accept_flags(
            state,
            device,
            signed.user_present(),
            signed.user_verified(),
            signed.counter,
        )
    }

    /// Checks a WebAuthn assertion of this conversation's challenge for the
    /// cluster's rp_id; flags and counter come from the signed authenticator data.
    pub(super) fn verify_webauthn(
        &self,
        state: &AgentState,
        device: &TapDevice,
        cred: &WebauthnCredential,
        authenticator_data: &[u8],
        signature: &[u8],
    ) -> Result<KeyClass, String> {
        let rp_id = self
            .rp_id
            .as_deref()
            .ok_or("the cluster has no WebAuthn rp_id")?;
        let signed = verify_assertion(
            cred,
            rp_id,
            &self.challenge.text(),
            authenticator_data,
            signature,
        )
        .map_err(|e| {
            format!(
                "the WebAuthn assertion by {} does not verify: {e}",
                device.name
            )
        })?;
        self.accept_flags(
            state,
            device,
            signed.user_present(),
            signed.user_verified(),
            signed.counter,
        )
    }

    /// Checks a PIV key's signature of this conversation's challenge with
    /// the attested public key; the class is the attested one (the card
    /// enforces its PIN and touch policies, which the attestation states).
    /// PIV keys keep no counter: single use is the challenge's.
    fn verify_piv(
        &self,
        device: &TapDevice,
        key: &AttestedKey,
        signature: &[u8],
    ) -> Result<KeyClass, String> {
        use crate::policy::KeyPolicy as K;
        verify_piv_tap(
            &key.attestation.public_key_spki,
            &self.challenge.text(),
            signature,
        )
        .map_err(|e| format!("the PIV signature by {}: {e}", device.name))?;
        let class = match key.class {
            K::HardwareKeyTouchAndPin => KeyClass::TouchAndPin,
            K::HardwareKeyTouch => KeyClass::Touch,
            K::HardwareKeyPin => KeyClass::Pin,
            _ => KeyClass::Hardware,
        };
        check(
            &Requirement {
                session: self.requirement.session,
                key_policy: tap_key_policy(self.requirement.key_policy),
            },
            class,
        )
        .map_err(|missing| {
            format!(
                "{missing}; {} is attested {} (its PIN/touch policy)",
                device.name,
                key.class.name()
            )
        })?;
        Ok(class)
    }

    /// What a verified signature's flags and counter prove.
    fn accept_flags(
        &self,
        state: &AgentState,
        device: &TapDevice,
        user_present: bool,
        user_verified: bool,
        counter: u32,
    ) -> Result<KeyClass, String> {
        let class = match (user_present, user_verified) {
            (true, true) => KeyClass::TouchAndPin,
            (true, false) => KeyClass::Touch,
            (false, true) => KeyClass::Pin,
            (false, false) => KeyClass::Hardware,
        };
        // A tap proves the session MFA and the touch/PIN it signed; the
        // hardware-key policy of an SSH login is about the login key.
        check(
            &Requirement {
                session: self.requirement.session,
                key_policy: tap_key_policy(self.requirement.key_policy),
            },
            class,
        )
        .map_err(|missing| format!("{missing}; the key signed without it"))?;
        state
            .signature_counters
            .check_and_record(&format!("{}/{}", self.user, device.id), counter)?;
        Ok(class)
    }
}

/// Handles the answers to the last prompt.
pub fn answer(state: &AgentState, mut conv: Box<Conversation>, answers: &[String]) -> Step {
    if conv.local.is_some() {
        return local_tap::pin_answer(state, conv, answers);
    }
    let outcome = match answers.first() {
        None => Err("no answer was given".to_string()),
        Some(_) if conv.challenge.is_expired(state.now()) => {
            Err("the challenge expired".to_string())
        }
        Some(text) => match super::answer_origin::refuse_other_challenge(state, &conv, text) {
            Some(why) => Err(why),
            None => check_answer(state, &conv, text),
        },
    };
    match outcome {
        Ok((class, i)) => {
            let device = conv.devices[i].clone();
            let how = match device.kind {
                TapKind::SshSk { .. } => "tap_ssh_sk",
                TapKind::Webauthn(_) => "tap_webauthn",
                TapKind::Piv { .. } => "tap_piv",
            };
            conv.allow(state, class, &device, how)
        }
        Err(why) => {
            let mut ev = conv.ev.clone();
            ev.event = "answer_refused".into();
            ev.result = "deny".into();
            ev.user = Some(conv.user.clone());
            ev.requirement = Some(conv.requirement.name().into());
            ev.reason = why.clone();
            ev.time = crate::audit::now_rfc3339();
            state.audit(&ev);
            conv.tries_left = conv.tries_left.saturating_sub(1);
            if conv.tries_left == 0 {
                // The reason for this refusal, then what would have worked.
                let guidance = conv
                    .verdict
                    .message
                    .trim_start_matches("pam-mfa: ")
                    .to_string();
                conv.verdict.message = format!("pam-mfa: {why}; no tries left.\n{guidance}");
                conv.verdict.reason =
                    format!("{}; last answer refused: {why}", conv.verdict.reason);
                let Conversation { ev, verdict, .. } = *conv;
                return Step::Done(finish(state, ev, verdict));
            }
            // Every try gets a fresh challenge: an answer is never good twice.
            conv.challenge = fresh_challenge(state, &conv.login);
            let prompt = conv.prompt(Some(&format!(
                "{why}; try again ({} left)",
                conv.tries_left
            )));
            Step::Ask(conv, prompt)
        }
    }
}

fn check_answer(
    state: &AgentState,
    conv: &Conversation,
    text: &str,
) -> Result<(KeyClass, usize), String> {
    let not_registered = || format!("that security key is not registered for {}", conv.user);
    match Answer::parse(text)? {
        Answer::SshSk {
            key_digest,
            signature,
        } => {
            let i = conv
                .devices
                .iter()
                .position(
                    |d| matches!(&d.kind, TapKind::SshSk { digest, .. } if *digest == key_digest),
                )
                .ok_or_else(not_registered)?;
            Ok((conv.verify_sk(state, &conv.devices[i], &signature)?, i))
        }
        Answer::Webauthn {
            selector,
            authenticator_data,
            signature,
        } => {
            let (i, cred) = conv
                .devices
                .iter()
                .enumerate()
                .find_map(|(i, d)| match &d.kind {
                    TapKind::Webauthn(c) if c.selector() == selector => Some((i, c)),
                    _ => None,
                })
                .ok_or_else(not_registered)?;
            Ok((
                conv.verify_webauthn(
                    state,
                    &conv.devices[i],
                    cred,
                    &authenticator_data,
                    &signature,
                )?,
                i,
            ))
        }
        Answer::Piv {
            selector,
            signature,
        } => {
            let (i, key) = conv
                .devices
                .iter()
                .enumerate()
                .find_map(|(i, d)| match &d.kind {
                    TapKind::Piv { selector: s, key } if *s == selector => Some((i, key)),
                    _ => None,
                })
                .ok_or_else(not_registered)?;
            Ok((conv.verify_piv(&conv.devices[i], key, &signature)?, i))
        }
    }
}

/// The person gave up, or the module hit its deadline.
pub fn cancel(state: &AgentState, mut conv: Box<Conversation>) -> ResponseBody {
    // A local tap's thread is left to end on its own; its result is dropped.
    let local = conv.local.take().is_some();
    let Conversation {
        ev, mut verdict, ..
    } = *conv;
    verdict.reason = format!("{}; the tap was cancelled", verdict.reason);
    verdict.message = if local {
        "pam-mfa: the tap was cancelled; login refused".into()
    } else {
        "pam-mfa: cancelled".into()
    };
    finish(state, ev, verdict)
}

/// sudo/su inside an SSH session: ask the person's forwarded ssh-agent to
/// sign the challenge with a registered key (the key asks for the touch).
/// On failure the conversation comes back, with the reason, for a prompt.
fn forwarded_agent_tap(
    state: &AgentState,
    conv: Box<Conversation>,
    sock: &str,
) -> Result<Step, (Box<Conversation>, String)> {
    match sign_with_forwarded_agent(state, &conv, sock) {
        Ok((class, i)) => {
            let device = conv.devices[i].clone();
            Ok(conv.allow(state, class, &device, "forwarded_agent_ssh_sk"))
        }
        Err(why) => Err((conv, why)),
    }
}

fn sign_with_forwarded_agent(
    state: &AgentState,
    conv: &Conversation,
    sock: &str,
) -> Result<(KeyClass, usize), String> {
    let uid = nix::unistd::User::from_name(&conv.login)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
        .ok_or_else(|| format!("no local account {}", conv.login))?;
    let path = std::path::Path::new(sock);
    let deadline = Instant::now() + FORWARDED_AGENT_DEADLINE;
    let keys =
        crate::ssh_agent::client::list_keys(path, uid, deadline).map_err(|e| e.to_string())?;
    let i = conv
        .devices
        .iter()
        .position(|d| {
            d.sk_blob()
                .is_some_and(|b| keys.iter().any(|k| k.key_blob == b))
        })
        .ok_or_else(|| format!("it holds no registered security key of {}", conv.user))?;
    let text = conv.challenge.text();
    let key_blob = conv.devices[i]
        .sk_blob()
        .ok_or("not a security-key device")?;
    let sig = crate::ssh_agent::client::sign(path, uid, key_blob, text.as_bytes(), deadline)
        .map_err(|e| e.to_string())?;
    let class = conv.verify_sk(state, &conv.devices[i], &sig)?;
    Ok((class, i))
}
