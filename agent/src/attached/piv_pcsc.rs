//! [`HostPiv`] over pcscd, through the PIV client in `crate::piv::card`.

use zeroize::Zeroizing;

use super::piv_host::{HostPiv, HostPivCard, PinRefused};
use super::secret::Pin;
use crate::piv::card::{CardError, PcscPivCard, PivCard, DEFAULT_CARD_WAIT};
use crate::piv::PivSlot;

/// PIV cards in the PC/SC readers of this host.
pub struct PcscHostPiv;

impl HostPiv for PcscHostPiv {
    fn open(&self, reader: Option<&str>) -> Result<Box<dyn HostPivCard>, String> {
        match PcscPivCard::open_with(reader, DEFAULT_CARD_WAIT) {
            Ok(card) => Ok(Box::new(card)),
            Err(CardError::NoCard(why)) => Err(format!("no smart card found: {why}")),
            Err(e) => Err(format!("no PIV card could be opened: {e}")),
        }
    }
}

impl HostPivCard for PcscPivCard {
    fn serial(&mut self) -> Result<u32, String> {
        PivCard::serial(self).map_err(|e| e.to_string())
    }

    fn verify_pin(&mut self, pin: &Pin) -> Result<(), PinRefused> {
        let pin = Zeroizing::new(pin.expose().to_owned());
        match PivCard::verify_pin(self, &pin) {
            Ok(()) => Ok(()),
            Err(CardError::WrongPin { left }) => Err(PinRefused::Wrong { left }),
            Err(e) => Err(PinRefused::Other(e.to_string())),
        }
    }

    fn sign(&mut self, slot: PivSlot, digest: &[u8]) -> Result<Vec<u8>, String> {
        PivCard::sign(self, slot, digest).map_err(|e| e.to_string())
    }
}
