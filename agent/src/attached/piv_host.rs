//! How the agent reaches PIV cards attached to this host. The real one is
//! `PcscHostPiv` (pcscd, through `crate::piv::card`); the trait
//! keeps the tap logic testable without a reader.

use super::secret::Pin;
use crate::piv::PivSlot;

/// Why a PIN was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinRefused {
    /// The card said no; `left` tries remain.
    Wrong { left: u8 },
    /// Anything else (blocked, malformed, transport).
    Other(String),
}

/// One card, opened.
pub trait HostPivCard: Send {
    /// The card's serial number (YubiKey GET SERIAL).
    fn serial(&mut self) -> Result<u32, String>;
    /// VERIFY PIN.
    fn verify_pin(&mut self, pin: &Pin) -> Result<(), PinRefused>;
    /// Signs a prehashed digest with the key in `slot`; blocks while the
    /// card waits for its touch (the card bounds that wait).
    fn sign(&mut self, slot: PivSlot, digest: &[u8]) -> Result<Vec<u8>, String>;
}

/// Opens the card in a reader attached to this host.
pub trait HostPiv: Send + Sync {
    /// The card in the first reader whose name contains `reader` (any when
    /// `None`), waiting a short while for one. `Err`: no card (the text says
    /// why, for the person).
    fn open(&self, reader: Option<&str>) -> Result<Box<dyn HostPivCard>, String>;
}

/// A host without PC/SC support: every open fails, saying so.
pub struct UnavailableHostPiv(pub String);

impl HostPiv for UnavailableHostPiv {
    fn open(&self, _reader: Option<&str>) -> Result<Box<dyn HostPivCard>, String> {
        Err(self.0.clone())
    }
}
