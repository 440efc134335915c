//! A login waiting for its tap: the challenge, the registered keys that may
//! answer (of one person, or of every candidate of a cluster-managed login
//! whose person is not known), the prompt, the verification of what was
//! signed, and the verdict once a tap verified: decided again for the
//! device's owner alone.

use std::path::PathBuf;
use std::time::Duration;

use pam_mfa_protocol::ResponseBody;

use super::evidence::KeyClass;
use super::key_rules::{decide_for_person, device_locked};
use super::local_tap_state::LocalTap;
use super::tap_credential::TapCredential;
use super::verdict::{finish, Verdict};
use crate::audit::AuditEvent;
use crate::challenge::{key_digest, Challenge};
use crate::config::ApprovalUrl;
use crate::piv::AttestedKey;
use crate::policy::ServiceClass;
use crate::policy::{Bundle, DeviceKind, Requirement};
use crate::state::AgentState;
use crate::verify::piv_tap::selector_of_hash;

/// The browser approval page of one conversation (`approval_link.rs`): its
/// address, and the cluster's rp_id it was checked against.
#[derive(Debug, Clone)]
pub(super) struct ApprovalLink {
    pub(super) url: ApprovalUrl,
    pub(super) rp_id: String,
}

/// A forwarded ssh-agent's signature asked for at the module's next `poll`,
/// once the cue naming the key was shown (`forwarded_agent`).
pub(super) struct ForwardedSign {
    /// The person's forwarded ssh-agent socket, and whose it must be.
    pub(super) socket: PathBuf,
    pub(super) owner_uid: u32,
    /// The registered key it holds: an index into the conversation's devices.
    pub(super) device: usize,
    /// What is left of the forwarded agent's time after listing its keys.
    pub(super) time_left: Duration,
}

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
    /// The cluster user it is registered to.
    pub(super) user: String,
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: TapKind,
}

#[derive(Debug, Clone)]
pub(super) enum TapKind {
    /// An OpenSSH security key: its wire blob and SHA-256 of it.
    SshSk { key_blob: Vec<u8>, digest: [u8; 32] },
    /// A WebAuthn credential: Teleport's own (WebAuthn or U2F, from the
    /// user's `local_auth`) or an `mfa_device` of the `webauthn` form.
    Webauthn(TapCredential),
    /// A PIV key (mfa_device `piv` form) whose attestation chain verified
    /// against the agent's roots, with the cap's serial rule applied; the
    /// selector is the first 8 bytes of SHA-256 of the attested key's SPKI.
    Piv {
        selector: [u8; 8],
        key: Box<AttestedKey>,
    },
}

impl TapDevice {
    /// Whether `bundle` still registers this device to its user, with the
    /// same key: Teleport's `loginFlow.finish` reads the user's devices
    /// again and refuses a credential no longer among them, so a key
    /// deleted while a login waits on its tap cannot finish it.
    pub(super) fn is_registered_in(&self, bundle: &Bundle) -> bool {
        bundle.devices_for_user(&self.user).iter().any(|d| {
            *d.id == *self.id
                && match (&d.kind, &self.kind) {
                    (DeviceKind::SshSk { key_blob, .. }, TapKind::SshSk { key_blob: b, .. }) => {
                        **key_blob == **b
                    }
                    (DeviceKind::Webauthn(w), TapKind::Webauthn(c)) => {
                        *w.credential_id == *c.credential_id
                    }
                    (DeviceKind::Piv(p), TapKind::Piv { key, .. }) => {
                        p.key_sha256 == key.attestation.public_key_spki_sha256
                    }
                    _ => false,
                }
        })
    }

    pub(super) fn sk_blob(&self) -> Option<&[u8]> {
        match &self.kind {
            TapKind::SshSk { key_blob, .. } => Some(key_blob),
            TapKind::Webauthn(_) | TapKind::Piv { .. } => None,
        }
    }
}

/// A login waiting for its tap.
pub struct Conversation {
    pub(super) challenge: Challenge,
    /// Whom the tap is for, as people read it: the one cluster user, or
    /// "one of jerry, alice" for a login whose person is not known.
    pub(super) user: String,
    pub(super) login: String,
    /// What the tap must prove: the strictest among the candidates.
    pub(super) requirement: Requirement,
    pub(super) devices: Vec<TapDevice>,
    pub(super) tries_left: u32,
    pub(super) ev: AuditEvent,
    pub(super) verdict: Verdict,
    pub(super) service: String,
    pub(super) rhost: Option<String>,
    pub(super) peer_pid: i32,
    /// Only taps on behalf of root peers (sshd, sudo) leave grants and
    /// reuse entries behind.
    pub(super) peer_uid: u32,
    pub(super) class: ServiceClass,
    /// The cluster's WebAuthn rp_id, when WebAuthn keys may answer.
    pub(super) rp_id: Option<String>,
    /// A tap on a key attached to this host, when that is the way.
    pub(super) local: Option<LocalTap>,
    /// The browser approval page, when `approval_url` is set and fits the rp_id.
    pub(super) approval: Option<ApprovalLink>,
    /// A forwarded ssh-agent's signature waiting for the module's poll.
    pub(super) forwarded: Option<ForwardedSign>,
}

/// The user's registered keys that can answer a challenge. A WebAuthn
/// credential needs the cluster's rp_id; without one it cannot answer (its
/// devices come last, most recent first: [`webauthn_tap_devices`]). A PIV
/// key needs its attestation to verify against the agent's roots (and the
/// cap's serial rule to pass); why one does not is returned beside.
pub(super) fn tap_devices(
    state: &AgentState,
    bundle: &Bundle,
    user: &str,
) -> (Vec<TapDevice>, Vec<String>) {
    let no_traits = Default::default();
    let traits = bundle
        .users()
        .get(user)
        .map(|u| &u.traits)
        .unwrap_or(&no_traits);
    let mut refused = Vec::new();
    let mut devices: Vec<TapDevice> = bundle
        .devices_for_user(user)
        .into_iter()
        .filter_map(|d| {
            let kind = match &d.kind {
                DeviceKind::SshSk { key_blob, .. } => TapKind::SshSk {
                    digest: key_digest(key_blob),
                    key_blob: key_blob.to_vec(),
                },
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
                DeviceKind::Webauthn(_) => return None,
            };
            Some(TapDevice {
                user: d.user.to_string(),
                id: d.id.to_string(),
                name: d.name.to_string(),
                kind,
            })
        })
        .collect();
    devices.extend(webauthn_tap_devices(bundle, user));
    (devices, refused)
}

/// The user's WebAuthn devices that can answer for the cluster's rp_id,
/// most recent first ([`Bundle::webauthn_devices`]); one whose key this
/// agent cannot read is left out, as before.
fn webauthn_tap_devices(bundle: &Bundle, user: &str) -> Vec<TapDevice> {
    let app_id = bundle.cap.u2f_app_id.as_deref();
    bundle
        .webauthn_devices(user)
        .into_iter()
        .filter_map(|(d, w)| {
            Some(TapDevice {
                user: d.user.to_string(),
                id: d.id.to_string(),
                name: d.name.to_string(),
                kind: TapKind::Webauthn(TapCredential::from_device(w, app_id).ok()?),
            })
        })
        .collect()
}

pub(super) fn fresh_challenge(state: &AgentState, login: &str) -> Challenge {
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

impl Conversation {
    /// Whether a lock in force covers `device` for this login (a tap for
    /// one person: attached keys).
    pub(super) fn is_locked(&self, state: &AgentState, bundle: &Bundle, device: &str) -> bool {
        device_locked(state, bundle, &self.login, &self.user, self.class, device)
    }

    /// The verdict of a verified tap: the login decided again for the
    /// device's owner alone (their roles, their locks and the device's,
    /// locks that appeared while the person was tapping included); then
    /// allow, grant the account phase, and remember it for the reuse window.
    pub(super) fn allow(
        mut self: Box<Self>,
        state: &AgentState,
        class: KeyClass,
        device: &TapDevice,
        how: &str,
    ) -> Step {
        let evidence = format!("{how}_{}", class.name());
        if let Err((message, reason)) = self.decide_for_owner(state, device) {
            self.verdict.message = message;
            self.verdict.reason = format!("{}; {reason}", self.verdict.reason);
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
            &device.user,
            &evidence,
            Some(&device.id),
            now,
        );
        // Reusable only by a later login that presents the key or
        // certificate that identified this login's person as the tap's owner.
        let key = self.verdict.connection_key.as_ref();
        if let Some(key) = key.filter(|k| k.user() == device.user) {
            state.reuse.record(
                key,
                &self.login,
                self.rhost.as_deref(),
                class,
                &device.id,
                now,
            );
        }
        let Conversation { ev, verdict, .. } = *self;
        Step::Done(finish(state, ev, verdict))
    }

    /// The tap says who logs in: the login is decided again for the
    /// device's owner alone under the policy in force now. Refused (the
    /// message and the audit reason) when that person may not log in, a
    /// lock holds them or the device, or they now need more than the tap
    /// was asked to prove.
    fn decide_for_owner(
        &mut self,
        state: &AgentState,
        device: &TapDevice,
    ) -> Result<(), (String, String)> {
        let Some(bundle) = state.store.current() else {
            return Err((
                format!("pam-mfa: access with {} is locked", device.name),
                format!("{} is locked (checked after the tap)", device.name),
            ));
        };
        let owner = device.user.as_str();
        if !device.is_registered_in(&bundle) {
            return Err((
                format!("pam-mfa: {} is no longer registered to {owner}", device.name),
                format!(
                    "{} is not registered to {owner} in the policy in force (removed or replaced while the login waited; checked after the tap)",
                    device.name
                ),
            ));
        }
        let d = decide_for_person(
            state,
            &bundle,
            &self.login,
            owner,
            self.verdict.identity.as_ref(),
            self.class,
            Some(&device.id),
        );
        if d.locked {
            return Err((
                format!("pam-mfa: access with {} is locked", device.name),
                format!("{} is locked (checked after the tap)", device.name),
            ));
        }
        if !d.is_allowed() {
            return Err((
                format!(
                    "pam-mfa: the cluster policy does not allow {owner} to log in as {} on {}",
                    self.login, state.node.name
                ),
                format!(
                    "the tap identified cluster user {owner}, who may not log in here: {}",
                    d.reasons.join("; ")
                ),
            ));
        }
        if self.requirement.combine(d.requirement) != self.requirement {
            return Err((
                format!(
                    "pam-mfa: {} now requires MFA ({}) for {owner}; try again",
                    state.node.name,
                    d.requirement.name()
                ),
                format!(
                    "{owner} now requires {}, more than the tap was asked for",
                    d.requirement.name()
                ),
            ));
        }
        if self.verdict.user.as_deref() != Some(owner) {
            self.verdict.reason = format!(
                "{}; the tap identified cluster user {owner}, decided again for them alone: {}",
                self.verdict.reason,
                d.reasons.join("; ")
            );
            self.verdict.user = Some(owner.to_string());
            self.verdict.requirement = Some(d.requirement);
        }
        Ok(())
    }
}
