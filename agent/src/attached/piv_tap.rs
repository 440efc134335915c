//! One PIV tap on a card attached to this host, run on its own thread.

use super::piv_host::{HostPiv, PinRefused};
use super::secret::Pin;
use crate::piv::{AttestedKey, PinPolicy, PivSlot};

/// A registered PIV device of the user that could answer.
#[derive(Debug, Clone)]
pub struct PivCandidate {
    /// Index into the conversation's devices.
    pub device: usize,
    pub attested: AttestedKey,
    /// The attested slot.
    pub slot: PivSlot,
}

impl PivCandidate {
    pub fn serial(&self) -> Option<u32> {
        self.attested.attestation.serial
    }

    /// Whether signing needs a VERIFY PIN first: PIN policy once or always,
    /// or the slot's default where that is not never (PIV: 9e only).
    pub fn needs_pin(&self) -> bool {
        match self.attested.attestation.pin_policy {
            PinPolicy::Never => false,
            PinPolicy::Once | PinPolicy::Always => true,
            _ => self.slot != PivSlot::CardAuthentication,
        }
    }
}

/// What the card did.
#[derive(Debug)]
pub enum PivTapOutcome {
    /// The card signed the digest; `pin_used` is the PIN it accepted.
    Signed {
        candidate: usize,
        serial: u32,
        signature: Vec<u8>,
        pin_used: Option<Pin>,
    },
    /// The card refused the PIN.
    WrongPin { serial: u32, left: u8 },
    /// No card, or none of the user's registered cards.
    NoKey(String),
    /// The card failed (not touched, transport, ...).
    Failed(String),
}

/// Opens the card, finds which registered device it is, VERIFY PIN when
/// that device needs it, and signs `digest_for(candidate)`.
pub fn piv_tap(
    host: &dyn HostPiv,
    reader: Option<&str>,
    candidates: &[PivCandidate],
    pin: Option<Pin>,
    challenge: &[u8],
) -> PivTapOutcome {
    let mut card = match host.open(reader) {
        Ok(c) => c,
        Err(why) => return PivTapOutcome::NoKey(why),
    };
    let serial = match card.serial() {
        Ok(s) => s,
        Err(why) => return PivTapOutcome::Failed(format!("reading the card's serial: {why}")),
    };
    let Some(ci) = candidates.iter().position(|c| c.serial() == Some(serial)) else {
        return PivTapOutcome::NoKey(format!(
            "the security key attached (serial {serial}) is not one of your registered keys"
        ));
    };
    let cand = &candidates[ci];
    let mut pin_used = None;
    if cand.needs_pin() {
        let Some(pin) = pin else {
            return PivTapOutcome::Failed("the key needs its PIN and none was given".into());
        };
        match card.verify_pin(&pin) {
            Ok(()) => pin_used = Some(pin),
            Err(PinRefused::Wrong { left }) => return PivTapOutcome::WrongPin { serial, left },
            Err(PinRefused::Other(why)) => return PivTapOutcome::Failed(why),
        }
    }
    let digest =
        match super::challenge_digest(&cand.attested.attestation.public_key_spki, challenge) {
            Ok(d) => d,
            Err(why) => return PivTapOutcome::Failed(why),
        };
    match card.sign(cand.slot, &digest) {
        Ok(signature) => PivTapOutcome::Signed {
            candidate: ci,
            serial,
            signature,
            pin_used,
        },
        Err(why) => PivTapOutcome::Failed(why),
    }
}
