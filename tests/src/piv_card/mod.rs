//! A software PIV card (YubiKey-flavoured) for tests, served to pcscd through
//! vsmartcard's vpcd reader driver.
//!
//! - [`apdu`]: command parsing, command chaining and GET RESPONSE
//! - [`vpcd`]: the vpcd socket protocol
//! - [`piv`]: the applet; [`keys`] slot keys; [`mgmt`] the management key
//! - [`attest`]: the test attestation CA chain and slot attestation certificates
//! - [`touch`]: the scriptable touch sensor
//! - [`env`]: pcscd + vpcd + this card in private mount and network namespaces
//!
//! The `piv-card` binary serves one card until killed.

pub mod apdu;
pub mod attest;
mod der;
pub mod env;
pub mod keys;
pub mod mgmt;
pub mod piv;
pub mod tlv;
pub mod tools;
pub mod touch;
pub mod vpcd;

use apdu::{Step, Transport};
use piv::Piv;

/// ATR of a YubiKey 5 NFC (so opensc and yubico-piv-tool treat the card as a YubiKey).
pub const YUBIKEY_ATR: [u8; 23] = [
    0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
    0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
];

/// The card: transport (chaining) in front of the PIV applet.
pub struct Card {
    pub piv: Piv,
    transport: Transport,
    atr: Vec<u8>,
    powered: bool,
    /// Log each command's INS and status word (never data: PINs travel in them).
    pub trace: bool,
}

impl Card {
    pub fn new(piv: Piv) -> Card {
        Card {
            piv,
            transport: Transport::new(),
            atr: YUBIKEY_ATR.to_vec(),
            powered: false,
            trace: false,
        }
    }
}

impl vpcd::VirtualCard for Card {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }
    fn power_off(&mut self) {
        self.powered = false;
        self.transport.reset();
        self.piv.reset();
    }
    fn power_on(&mut self) {
        if !self.powered {
            eprintln!("piv-card: powered on");
        }
        self.powered = true;
        self.transport.reset();
        self.piv.reset();
    }
    fn reset(&mut self) {
        self.power_on();
    }
    fn transmit(&mut self, raw: &[u8]) -> Vec<u8> {
        let out = match self.transport.step(raw) {
            Step::Reply(r) => r,
            Step::Command(cmd) => {
                let (data, status) = self.piv.process(&cmd);
                self.transport.finish(&cmd, data, status)
            }
        };
        if self.trace {
            let head: Vec<String> = raw.iter().take(4).map(|b| format!("{b:02x}")).collect();
            let n = out.len();
            eprintln!(
                "piv-card: {} ({} bytes) -> {:02x}{:02x} ({} bytes)",
                head.join(" "),
                raw.len(),
                out[n - 2],
                out[n - 1],
                n - 2
            );
        }
        out
    }
}
