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
            // A fingerprint (YubiKey Bio), which no PIN replaces.
            PinPolicy::Never | PinPolicy::MatchOnce | PinPolicy::MatchAlways => false,
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
/// that device needs it, and signs the challenge's digest. `pin` is the PIN
/// and the serial of the card it was asked (or cached) for (0: a card whose
/// attestation states none); it is never tried on another card, where it
/// would spend a try.
pub fn piv_tap(
    host: &dyn HostPiv,
    reader: Option<&str>,
    candidates: &[PivCandidate],
    pin: Option<(u32, Pin)>,
    challenge: &str,
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
        let pin = match pin {
            Some((for_serial, pin)) if for_serial == serial || for_serial == 0 => pin,
            Some(_) => {
                return PivTapOutcome::Failed(format!(
                    "the PIN was asked for another of your keys than the one attached (serial {serial})"
                ))
            }
            None => {
                return PivTapOutcome::Failed("the key needs its PIN and none was given".into())
            }
        };
        match card.verify_pin(&pin) {
            Ok(()) => pin_used = Some(pin),
            Err(PinRefused::Wrong { left }) => return PivTapOutcome::WrongPin { serial, left },
            Err(PinRefused::Other(why)) => return PivTapOutcome::Failed(why),
        }
    }
    let digest =
        match crate::verify::piv_tap::digest_len(&cand.attested.attestation.public_key_spki) {
            Ok(len) => crate::verify::piv_tap::tap_digest(challenge, len)
                .expect("digest_len gives 32 or 48"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attached::piv_host::HostPivCard;
    use crate::piv::{Attestation, TouchPolicy};
    use crate::policy::KeyPolicy;
    use std::sync::{Arc, Mutex};

    /// A card that counts VERIFYs and refuses every PIN.
    struct Counting(u32, Arc<Mutex<u32>>);

    impl HostPiv for Counting {
        fn open(&self, _: Option<&str>) -> Result<Box<dyn HostPivCard>, String> {
            Ok(Box::new(Counting(self.0, self.1.clone())))
        }
    }

    impl HostPivCard for Counting {
        fn serial(&mut self) -> Result<u32, String> {
            Ok(self.0)
        }
        fn verify_pin(&mut self, _: &Pin) -> Result<(), PinRefused> {
            *self.1.lock().unwrap() += 1;
            Err(PinRefused::Wrong { left: 2 })
        }
        fn sign(&mut self, _: PivSlot, _: &[u8]) -> Result<Vec<u8>, String> {
            Err("not reached".into())
        }
    }

    fn candidate(serial: u32) -> PivCandidate {
        PivCandidate {
            device: 0,
            attested: AttestedKey {
                class: KeyPolicy::HardwareKeyPin,
                attestation: Attestation {
                    serial: Some(serial),
                    firmware: None,
                    pin_policy: PinPolicy::Once,
                    touch_policy: TouchPolicy::Never,
                    form_factor: None,
                    slot: Some(PivSlot::KeyManagement),
                    public_key_spki: Vec::new(),
                    public_key_spki_sha256: [0; 32],
                    root: String::new(),
                },
            },
            slot: PivSlot::KeyManagement,
        }
    }

    #[test]
    fn a_pin_is_never_tried_on_another_card() {
        let verifies = Arc::new(Mutex::new(0));
        let host = Counting(222, verifies.clone());
        let both = [candidate(111), candidate(222)];
        let pin = || Some((111, Pin::new("123456".into())));
        match piv_tap(&host, None, &both, pin(), "c") {
            PivTapOutcome::Failed(why) => assert!(why.contains("another"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(*verifies.lock().unwrap(), 0, "no try spent");
        // The right card: tried (and refused here).
        match piv_tap(&host, None, &both, Some((222, Pin::new("1".into()))), "c") {
            PivTapOutcome::WrongPin {
                serial: 222,
                left: 2,
            } => {}
            other => panic!("{other:?}"),
        }
        // Not registered at all.
        match piv_tap(&host, None, &[candidate(111)], pin(), "c") {
            PivTapOutcome::NoKey(why) => assert!(why.contains("222"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
