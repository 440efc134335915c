//! The key slots and the management key: GENERAL AUTHENTICATE (signing,
//! management-key authentication), GENERATE with PIN and touch policies,
//! Yubico's ATTEST, METADATA and SET MANAGEMENT KEY.

use super::pin_references::constant_eq;
use super::{sw, Command, Piv, SLOT_ATTESTATION, SLOT_MGMT, SLOT_PIN, SLOT_PUK};
use crate::piv_card::keys::{
    is_key_slot, random_bytes, Algorithm, KeyPair, Origin, PinPolicy, SlotKey, TouchPolicy,
};
use crate::piv_card::mgmt::ManagementKey;
use crate::piv_card::tlv;

impl Piv {
    pub(super) fn general_authenticate(&mut self, c: &Command) -> (Vec<u8>, u16) {
        let Some(outer) = tlv::parse(&c.data) else {
            return (vec![], sw::WRONG_DATA);
        };
        let Some(inner) = tlv::find(&outer, &[0x7C]).and_then(tlv::parse) else {
            return (vec![], sw::WRONG_DATA);
        };
        if c.p2 == SLOT_MGMT {
            return self.management_auth(c.p1, &inner);
        }
        let Some(slot) = self.slots.get(&c.p2).cloned() else {
            return (vec![], sw::FILE_NOT_FOUND);
        };
        if c.p2 == SLOT_ATTESTATION || Algorithm::from_id(c.p1) != Some(slot.key.algorithm()) {
            return (vec![], sw::INCORRECT_P1P2);
        }
        let (Some(response), Some(digest)) =
            (tlv::find(&inner, &[0x82]), tlv::find(&inner, &[0x81]))
        else {
            // ECDH (85) and anything else is not offered.
            return (vec![], sw::WRONG_DATA);
        };
        if !response.is_empty() {
            return (vec![], sw::WRONG_DATA);
        }
        // A VERIFY serves one private-key operation of a PIN-always key (other
        // commands in between, such as opensc's GET DATA probes, do not spend it).
        let pin_fresh = std::mem::take(&mut self.pin_fresh);
        let pin_ok = match slot.pin {
            PinPolicy::Never => true,
            PinPolicy::Once => self.pin_verified,
            PinPolicy::Always => self.pin_verified && pin_fresh,
        };
        if !pin_ok {
            return (vec![], sw::SECURITY_STATUS);
        }
        let touched = match slot.touch {
            TouchPolicy::Never => true,
            TouchPolicy::Cached if self.touch.cached(c.p2) => true,
            TouchPolicy::Always | TouchPolicy::Cached => self.touch.wait(c.p2),
        };
        if !touched {
            return (vec![], sw::SECURITY_STATUS);
        }
        match slot.key.sign_digest(digest) {
            Some(sig) => (tlv::tlv(&[0x7C], &tlv::tlv(&[0x82], &sig)), sw::OK),
            None => (vec![], sw::WRONG_DATA),
        }
    }

    pub(super) fn management_auth(
        &mut self,
        alg: u8,
        inner: &[(Vec<u8>, &[u8])],
    ) -> (Vec<u8>, u16) {
        if alg != self.mgmt.algorithm_id() {
            return (vec![], sw::INCORRECT_P1P2);
        }
        let block = self.mgmt.block_len();
        let witness = tlv::find(inner, &[0x80]);
        let challenge = tlv::find(inner, &[0x81]);
        let response = tlv::find(inner, &[0x82]);
        match (witness, challenge, response) {
            // Mutual auth, step 1: the card's witness, encrypted.
            (Some([]), None, None) => {
                self.mgmt_authenticated = false;
                let w = random_bytes(block);
                let enc = self.mgmt.encrypt(&w);
                self.witness = Some(w);
                (tlv::tlv(&[0x7C], &tlv::tlv(&[0x80], &enc)), sw::OK)
            }
            // Mutual auth, step 2: the decrypted witness and the host's challenge.
            (Some(w), Some(ch), None) => {
                let expected = self.witness.take();
                if ch.len() != block || !expected.is_some_and(|e| constant_eq(&e, w)) {
                    self.mgmt_authenticated = false;
                    return (vec![], sw::SECURITY_STATUS);
                }
                self.mgmt_authenticated = true;
                let enc = self.mgmt.encrypt(ch);
                (tlv::tlv(&[0x7C], &tlv::tlv(&[0x82], &enc)), sw::OK)
            }
            // External auth, step 1: a challenge for the host to encrypt.
            (None, Some([]), None) => {
                self.mgmt_authenticated = false;
                let ch = random_bytes(block);
                self.challenge = Some(ch.clone());
                (tlv::tlv(&[0x7C], &tlv::tlv(&[0x81], &ch)), sw::OK)
            }
            (None, None, Some(r)) => {
                let expected = self.challenge.take().map(|ch| self.mgmt.encrypt(&ch));
                if expected.is_some_and(|e| constant_eq(&e, r)) {
                    self.mgmt_authenticated = true;
                    (vec![], sw::OK)
                } else {
                    self.mgmt_authenticated = false;
                    (vec![], sw::SECURITY_STATUS)
                }
            }
            _ => (vec![], sw::WRONG_DATA),
        }
    }

    pub(super) fn generate(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if !self.mgmt_authenticated {
            return (vec![], sw::SECURITY_STATUS);
        }
        if !is_key_slot(c.p2) || c.p2 == SLOT_ATTESTATION {
            return (vec![], sw::INCORRECT_P1P2);
        }
        let Some(items) = tlv::parse(&c.data) else {
            return (vec![], sw::WRONG_DATA);
        };
        let Some(params) = tlv::find(&items, &[0xAC]).and_then(tlv::parse) else {
            return (vec![], sw::WRONG_DATA);
        };
        let byte = |tag: u8| tlv::find(&params, &[tag]).and_then(|v| v.first().copied());
        let Some(alg) = byte(0x80).and_then(Algorithm::from_id) else {
            return (vec![], sw::WRONG_DATA);
        };
        let Some(pin) = PinPolicy::from_byte(byte(0xAA).unwrap_or(0), c.p2) else {
            return (vec![], sw::WRONG_DATA);
        };
        let Some(touch) = TouchPolicy::from_byte(byte(0xAB).unwrap_or(0)) else {
            return (vec![], sw::WRONG_DATA);
        };
        let key = KeyPair::generate(alg);
        let public = tlv::tlv(&[0x7F, 0x49], &tlv::tlv(&[0x86], &key.public_point()));
        self.slots.insert(
            c.p2,
            SlotKey {
                key,
                pin,
                touch,
                origin: Origin::Generated,
            },
        );
        (public, sw::OK)
    }

    pub(super) fn attest(&mut self, c: &Command) -> (Vec<u8>, u16) {
        match self.slots.get(&c.p1) {
            Some(k) if c.p1 != SLOT_ATTESTATION && k.origin == Origin::Generated => {
                (self.f9.attest(c.p1, k, &self.cfg.info), sw::OK)
            }
            Some(_) => (vec![], sw::INCORRECT_P1P2),
            None => (vec![], sw::FILE_NOT_FOUND),
        }
    }

    pub(super) fn metadata(&mut self, c: &Command) -> (Vec<u8>, u16) {
        let mut out = Vec::new();
        match c.p2 {
            SLOT_PIN | SLOT_PUK => {
                let r = if c.p2 == SLOT_PIN {
                    &self.pin
                } else {
                    &self.puk
                };
                tlv::put(&mut out, &[0x01], &[0xFF]);
                tlv::put(&mut out, &[0x05], &[u8::from(r.default)]);
                tlv::put(&mut out, &[0x06], &[r.max, r.left]);
            }
            SLOT_MGMT => {
                tlv::put(&mut out, &[0x01], &[self.mgmt.algorithm_id()]);
                tlv::put(&mut out, &[0x02], &[0x00, TouchPolicy::Never as u8]);
                tlv::put(&mut out, &[0x05], &[u8::from(self.mgmt.is_default())]);
            }
            slot => {
                let Some(k) = self.slots.get(&slot) else {
                    return (vec![], sw::FILE_NOT_FOUND);
                };
                tlv::put(&mut out, &[0x01], &[k.key.algorithm().id()]);
                tlv::put(&mut out, &[0x02], &[k.pin as u8, k.touch as u8]);
                tlv::put(&mut out, &[0x03], &[k.origin as u8]);
                tlv::put(&mut out, &[0x04], &tlv::tlv(&[0x86], &k.key.public_point()));
            }
        }
        (out, sw::OK)
    }

    pub(super) fn set_management_key(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if !self.mgmt_authenticated {
            return (vec![], sw::SECURITY_STATUS);
        }
        if c.p1 != 0xFF || !matches!(c.p2, 0xFF | 0xFE) || c.data.len() < 3 {
            return (vec![], sw::INCORRECT_P1P2);
        }
        let (alg, slot, len) = (c.data[0], c.data[1], usize::from(c.data[2]));
        if slot != SLOT_MGMT || c.data.len() != 3 + len {
            return (vec![], sw::WRONG_DATA);
        }
        match ManagementKey::new(alg, &c.data[3..]) {
            Ok(k) => {
                self.mgmt = k;
                (vec![], sw::OK)
            }
            Err(_) => (vec![], sw::WRONG_DATA),
        }
    }
}
