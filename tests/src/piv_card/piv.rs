//! The PIV applet (NIST SP 800-73-4) with Yubico's extensions: generate with PIN and
//! touch policies, attest, metadata, serial, version, management key and PIN retries.

use std::collections::HashMap;

use super::apdu::{sw, Command};
use super::attest::{Authority, DeviceInfo};
use super::keys::{Origin, PinPolicy, SlotKey, TouchPolicy};
use super::mgmt::ManagementKey;
use super::tlv;
use super::touch::Touch;

mod data_objects;
mod key_commands;
mod pin_references;
#[cfg(test)]
mod tests;

pub use data_objects::cert_object;
use data_objects::chuid;
use pin_references::Reference;

/// The PIV application identifier (its first five bytes select it).
pub const PIV_AID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];
/// Object tag of the F9 attestation certificate.
pub const TAG_ATTESTATION_CERT: [u8; 3] = [0x5F, 0xFF, 0x01];
const TAG_CHUID: [u8; 3] = [0x5F, 0xC1, 0x02];

/// Slot references of GENERAL AUTHENTICATE / metadata.
pub const SLOT_PIN: u8 = 0x80;
pub const SLOT_PUK: u8 = 0x81;
pub const SLOT_MGMT: u8 = 0x9B;
pub const SLOT_ATTESTATION: u8 = 0xF9;

/// What a card is set up with.
#[derive(Debug, Clone)]
pub struct PivConfig {
    pub pin: Vec<u8>,
    pub puk: Vec<u8>,
    pub management_key: ManagementKey,
    pub pin_retries: u8,
    pub puk_retries: u8,
    pub info: DeviceInfo,
}

impl Default for PivConfig {
    fn default() -> PivConfig {
        PivConfig {
            pin: b"123456".to_vec(),
            puk: b"12345678".to_vec(),
            management_key: ManagementKey::default(),
            pin_retries: 3,
            puk_retries: 3,
            info: DeviceInfo {
                firmware: [5, 4, 3],
                serial: 10_000_001,
                form_factor: 0x01,
            },
        }
    }
}

/// The applet and everything it stores.
pub struct Piv {
    cfg: PivConfig,
    pin: Reference,
    puk: Reference,
    mgmt: ManagementKey,
    f9: Authority,
    slots: HashMap<u8, SlotKey>,
    objects: HashMap<Vec<u8>, Vec<u8>>,
    touch: Touch,
    // Security state, cleared on reset and when the applet is selected anew.
    selected: bool,
    pin_verified: bool,
    /// A VERIFY not yet followed by a private-key operation.
    pin_fresh: bool,
    mgmt_authenticated: bool,
    /// Plain witness (mutual auth step 1) or challenge (external auth) outstanding.
    witness: Option<Vec<u8>>,
    challenge: Option<Vec<u8>>,
}

impl Piv {
    /// A card with empty key slots, the F9 key and certificate from `f9`.
    pub fn new(cfg: PivConfig, f9: Authority, touch: Touch) -> Piv {
        let mut objects = HashMap::new();
        objects.insert(TAG_CHUID.to_vec(), chuid(cfg.info.serial));
        objects.insert(TAG_ATTESTATION_CERT.to_vec(), cert_object(&f9.cert_der));
        Piv {
            pin: Reference::new(&cfg.pin, cfg.pin_retries, cfg.pin == b"123456"),
            puk: Reference::new(&cfg.puk, cfg.puk_retries, cfg.puk == b"12345678"),
            mgmt: cfg.management_key.clone(),
            slots: HashMap::from([(
                SLOT_ATTESTATION,
                SlotKey {
                    key: f9.key.clone(),
                    pin: PinPolicy::Never,
                    touch: TouchPolicy::Never,
                    origin: Origin::Imported,
                },
            )]),
            f9,
            objects,
            touch,
            cfg,
            selected: false,
            pin_verified: false,
            pin_fresh: false,
            mgmt_authenticated: false,
            witness: None,
            challenge: None,
        }
    }

    /// Power cycle or reset: the security state is gone, stored data stays.
    pub fn reset(&mut self) {
        self.selected = false;
        self.clear_security();
    }

    fn clear_security(&mut self) {
        self.pin_verified = false;
        self.pin_fresh = false;
        self.mgmt_authenticated = false;
        self.witness = None;
        self.challenge = None;
    }

    /// How many touches were asked for so far.
    pub fn touch_requests(&self) -> u64 {
        self.touch.requests()
    }

    /// Runs one complete command: (response data, status word).
    pub fn process(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.cla & !0x10 != 0 {
            return (vec![], sw::CLA_NOT_SUPPORTED);
        }
        if c.ins == 0xA4 {
            return self.select(c);
        }
        if !self.selected {
            return (vec![], sw::INS_NOT_SUPPORTED);
        }
        match c.ins {
            0xFD => (self.cfg.info.firmware.to_vec(), sw::OK),
            0xF8 => (self.cfg.info.serial.to_be_bytes().to_vec(), sw::OK),
            0x20 => self.verify(c),
            0x24 => self.change_reference(c),
            0x2C => self.reset_retry(c),
            0x87 => self.general_authenticate(c),
            0x47 => self.generate(c),
            0xF9 => self.attest(c),
            0xF7 => self.metadata(c),
            0xCB => self.get_data(c),
            0xDB => self.put_data(c),
            0xFF => self.set_management_key(c),
            0xFA => self.set_pin_retries(c),
            0xFB => self.factory_reset(),
            _ => (vec![], sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if c.p1 != 0x04 || c.data.len() < PIV_AID.len() || c.data[..5] != PIV_AID {
            self.selected = false;
            self.clear_security();
            return (vec![], sw::FILE_NOT_FOUND);
        }
        if !self.selected {
            self.clear_security();
        }
        self.selected = true;
        // Application property template: the PIV AID's PIX and the APT.
        let mut apt = tlv::tlv(&[0x4F], &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
        tlv::put(&mut apt, &[0x79], &tlv::tlv(&[0x4F], &PIV_AID));
        (tlv::tlv(&[0x61], &apt), sw::OK)
    }

    fn factory_reset(&mut self) -> (Vec<u8>, u16) {
        if self.pin.left != 0 || self.puk.left != 0 {
            return (vec![], sw::CONDITIONS);
        }
        let fresh = Piv::new(
            PivConfig {
                pin: b"123456".to_vec(),
                puk: b"12345678".to_vec(),
                management_key: ManagementKey::default(),
                ..self.cfg.clone()
            },
            self.f9.clone(),
            std::mem::replace(
                &mut self.touch,
                Touch::new(super::touch::TouchAnswer::NotTouched, None),
            ),
        );
        *self = fresh;
        self.touch.forget();
        self.selected = true;
        (vec![], sw::OK)
    }
}
