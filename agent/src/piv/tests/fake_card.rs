//! A PIV card in memory for unit tests of PIV taps: one minted slot key
//! (the chain's), its PIN and policies; GENERAL AUTHENTICATE signs for real.

use p256::ecdsa::signature::hazmat::PrehashSigner;
use zeroize::Zeroizing;

use super::chain::{Minted, Slot};
use crate::piv::card::{CardError, KeyAlgorithm, ManagementKey, PivCard, SlotMetadata};
use crate::piv::{PinPolicy, PivSlot, TouchPolicy};

pub(crate) struct FakeCard {
    pub slot: PivSlot,
    /// The slot certificate (the chain's leaf), DER.
    pub slot_cert: Vec<u8>,
    pub key: p256::ecdsa::SigningKey,
    pub pin: String,
    pub pin_policy: PinPolicy,
    pub touch_policy: TouchPolicy,
    pub tries: u8,
    pub verified: bool,
    /// Whether the next touch comes.
    pub touched: bool,
    pub signed: usize,
}

/// The P-256 scalar inside rcgen's PKCS#8 (the ECPrivateKey's
/// `INTEGER 1, OCTET STRING (32)`).
fn scalar(pkcs8: &[u8]) -> [u8; 32] {
    let at = pkcs8
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("an EC private key");
    pkcs8[at + 5..at + 37].try_into().unwrap()
}

impl FakeCard {
    /// The card holding `minted`'s slot key, with the policies `s` states.
    pub fn new(minted: &Minted, s: &Slot) -> FakeCard {
        let key =
            p256::ecdsa::SigningKey::from_bytes(&scalar(&minted.slot.key.serialize_der()).into())
                .unwrap();
        let policy = |b| crate::piv::PinPolicy::from_byte(b).unwrap();
        FakeCard {
            slot: PivSlot::parse(s.slot).unwrap(),
            slot_cert: minted.slot.cert.der().to_vec(),
            key,
            pin: "123456".into(),
            pin_policy: policy(s.pin),
            touch_policy: crate::piv::TouchPolicy::from_byte(s.touch).unwrap(),
            tries: 3,
            verified: false,
            touched: true,
            signed: 0,
        }
    }

    fn has(&self, slot: PivSlot) -> Result<(), CardError> {
        if slot == self.slot {
            Ok(())
        } else {
            Err(CardError::NotFound {
                during: format!("slot {}", slot.name()),
            })
        }
    }
}

impl PivCard for FakeCard {
    fn open(_: Option<&str>) -> Result<Self, CardError> {
        Err(CardError::NoCard("a fake card is made, not opened".into()))
    }
    fn set_management_key(&mut self, _: ManagementKey) {}
    fn version(&mut self) -> Result<(u8, u8, u8), CardError> {
        Ok((5, 7, 1))
    }
    fn serial(&mut self) -> Result<u32, CardError> {
        Ok(12_345_678)
    }
    fn verify_pin(&mut self, pin: &Zeroizing<String>) -> Result<(), CardError> {
        if self.tries == 0 {
            return Err(CardError::WrongPin { left: 0 });
        }
        if pin.as_str() == self.pin {
            self.verified = true;
            self.tries = 3;
            Ok(())
        } else {
            self.tries -= 1;
            Err(CardError::WrongPin { left: self.tries })
        }
    }
    fn pin_tries_left(&mut self) -> Result<Option<u8>, CardError> {
        Ok((!self.verified).then_some(self.tries))
    }
    fn metadata(&mut self, slot: PivSlot) -> Result<SlotMetadata, CardError> {
        self.has(slot)?;
        Ok(SlotMetadata {
            algorithm: Some(KeyAlgorithm::EccP256),
            algorithm_id: 0x11,
            pin_policy: self.pin_policy,
            touch_policy: self.touch_policy,
            generated: Some(true),
            public_point: None,
        })
    }
    fn generate(
        &mut self,
        _: PivSlot,
        _: KeyAlgorithm,
        _: PinPolicy,
        _: TouchPolicy,
    ) -> Result<Vec<u8>, CardError> {
        Err(CardError::Invalid("not here".into()))
    }
    fn attest(&mut self, slot: PivSlot) -> Result<Vec<u8>, CardError> {
        self.has(slot)?;
        Ok(self.slot_cert.clone())
    }
    fn attestation_intermediate(&mut self) -> Result<Vec<u8>, CardError> {
        Err(CardError::Invalid("not here".into()))
    }
    fn certificate(&mut self, slot: PivSlot) -> Result<Vec<u8>, CardError> {
        self.has(slot)?;
        Ok(self.slot_cert.clone())
    }
    fn sign(&mut self, slot: PivSlot, digest: &[u8]) -> Result<Vec<u8>, CardError> {
        self.has(slot)?;
        let during = format!("GENERAL AUTHENTICATE in slot {}", slot.name());
        if self.pin_policy != PinPolicy::Never && !self.verified {
            return Err(CardError::PinRequired { during });
        }
        if self.touch_policy != TouchPolicy::Never && !self.touched {
            return Err(CardError::TouchRequired { during });
        }
        if self.pin_policy == PinPolicy::Always {
            self.verified = false;
        }
        self.signed += 1;
        let sig: p256::ecdsa::Signature = self.key.sign_prehash(digest).unwrap();
        Ok(sig.to_der().as_bytes().to_vec())
    }
}
