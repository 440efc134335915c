//! The PIN and the PUK: their retry counters, VERIFY, CHANGE REFERENCE,
//! RESET RETRY COUNTER and Yubico's SET PIN RETRIES.

use super::{sw, Command, Piv, SLOT_PIN, SLOT_PUK};

/// A secret with its retry counter.
#[derive(Debug)]
pub(super) struct Reference {
    pub(super) value: Vec<u8>,
    pub(super) left: u8,
    pub(super) max: u8,
    pub(super) default: bool,
}

impl Reference {
    pub(super) fn new(value: &[u8], max: u8, default: bool) -> Reference {
        Reference {
            value: value.to_vec(),
            left: max,
            max,
            default,
        }
    }

    /// Checks an 8-byte FF-padded candidate; `Err(status)` on failure.
    pub(super) fn check(&mut self, padded: &[u8]) -> Result<(), u16> {
        if self.left == 0 {
            return Err(sw::AUTH_BLOCKED);
        }
        if padded.len() != 8 || !constant_eq(&pad8(&self.value), padded) {
            self.left -= 1;
            return Err(sw::retries(self.left));
        }
        self.left = self.max;
        Ok(())
    }
}

impl Piv {
    pub(super) fn verify(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.p2 != SLOT_PIN {
            return (vec![], sw::REF_NOT_FOUND);
        }
        match (c.p1, c.data.is_empty()) {
            (0xFF, true) => {
                self.pin_verified = false;
                (vec![], sw::OK)
            }
            (0x00, true) if self.pin.left == 0 => (vec![], sw::AUTH_BLOCKED),
            (0x00, true) if self.pin_verified => (vec![], sw::OK),
            (0x00, true) => (vec![], sw::retries(self.pin.left)),
            (0x00, false) => match self.pin.check(&c.data) {
                Ok(()) => {
                    self.pin_verified = true;
                    self.pin_fresh = true;
                    (vec![], sw::OK)
                }
                Err(status) => {
                    self.pin_verified = false;
                    self.pin_fresh = false;
                    (vec![], status)
                }
            },
            _ => (vec![], sw::INCORRECT_P1P2),
        }
    }

    pub(super) fn change_reference(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.data.len() != 16 {
            return (vec![], sw::WRONG_DATA);
        }
        let Some(new) = unpad(&c.data[8..]) else {
            return (vec![], sw::WRONG_DATA);
        };
        let r = match c.p2 {
            SLOT_PIN => &mut self.pin,
            SLOT_PUK => &mut self.puk,
            _ => return (vec![], sw::REF_NOT_FOUND),
        };
        if let Err(status) = r.check(&c.data[..8]) {
            return (vec![], status);
        }
        r.value = new;
        r.default = false;
        (vec![], sw::OK)
    }

    pub(super) fn reset_retry(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.p2 != SLOT_PIN {
            return (vec![], sw::REF_NOT_FOUND);
        }
        if c.data.len() != 16 {
            return (vec![], sw::WRONG_DATA);
        }
        let Some(new) = unpad(&c.data[8..]) else {
            return (vec![], sw::WRONG_DATA);
        };
        if let Err(status) = self.puk.check(&c.data[..8]) {
            return (vec![], status);
        }
        self.pin.value = new;
        self.pin.left = self.pin.max;
        self.pin.default = false;
        (vec![], sw::OK)
    }

    pub(super) fn set_pin_retries(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if !self.mgmt_authenticated || !self.pin_verified {
            return (vec![], sw::SECURITY_STATUS);
        }
        if c.p1 == 0 || c.p2 == 0 {
            return (vec![], sw::INCORRECT_P1P2);
        }
        // As on a YubiKey, this also sets the PIN and PUK back to their defaults.
        self.pin = Reference::new(b"123456", c.p1, true);
        self.puk = Reference::new(b"12345678", c.p2, true);
        (vec![], sw::OK)
    }
}

/// `value` padded with FF to 8 bytes (longer values are kept whole, so never match).
pub(super) fn pad8(value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    while v.len() < 8 {
        v.push(0xFF);
    }
    v
}

/// The PIN or PUK inside an 8-byte FF-padded field (6 to 8 bytes).
pub(super) fn unpad(padded: &[u8]) -> Option<Vec<u8>> {
    let v: Vec<u8> = padded.iter().copied().take_while(|&b| b != 0xFF).collect();
    (6..=8).contains(&v.len()).then_some(v)
}

/// Equality that does not stop at the first differing byte.
pub(super) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
