//! The PIV applet (NIST SP 800-73-4) with Yubico's extensions: generate with PIN and
//! touch policies, attest, metadata, serial, version, management key and PIN retries.

use std::collections::HashMap;

use super::apdu::{sw, Command};
use super::attest::{Authority, DeviceInfo};
use super::keys::{
    is_key_slot, random_bytes, Algorithm, KeyPair, Origin, PinPolicy, SlotKey, TouchPolicy,
};
use super::mgmt::ManagementKey;
use super::tlv;
use super::touch::Touch;

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

/// A secret with its retry counter.
#[derive(Debug)]
struct Reference {
    value: Vec<u8>,
    left: u8,
    max: u8,
    default: bool,
}

impl Reference {
    fn new(value: &[u8], max: u8, default: bool) -> Reference {
        Reference {
            value: value.to_vec(),
            left: max,
            max,
            default,
        }
    }

    /// Checks an 8-byte FF-padded candidate; `Err(status)` on failure.
    fn check(&mut self, padded: &[u8]) -> Result<(), u16> {
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

    fn verify(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn change_reference(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn reset_retry(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn general_authenticate(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn management_auth(&mut self, alg: u8, inner: &[(Vec<u8>, &[u8])]) -> (Vec<u8>, u16) {
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

    fn generate(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn attest(&mut self, c: &Command) -> (Vec<u8>, u16) {
        match self.slots.get(&c.p1) {
            Some(k) if c.p1 != SLOT_ATTESTATION && k.origin == Origin::Generated => {
                (self.f9.attest(c.p1, k, &self.cfg.info), sw::OK)
            }
            Some(_) => (vec![], sw::INCORRECT_P1P2),
            None => (vec![], sw::FILE_NOT_FOUND),
        }
    }

    fn metadata(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn get_data(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if (c.p1, c.p2) != (0x3F, 0xFF) {
            return (vec![], sw::INCORRECT_P1P2);
        }
        let Some(tag) =
            tlv::parse(&c.data).and_then(|i| tlv::find(&i, &[0x5C]).map(<[u8]>::to_vec))
        else {
            return (vec![], sw::WRONG_DATA);
        };
        if tag == [0x7E] {
            return (discovery(), sw::OK);
        }
        match self.objects.get(&tag) {
            Some(value) => (tlv::tlv(&[0x53], value), sw::OK),
            None => (vec![], sw::FILE_NOT_FOUND),
        }
    }

    fn put_data(&mut self, c: &Command) -> (Vec<u8>, u16) {
        if !self.mgmt_authenticated {
            return (vec![], sw::SECURITY_STATUS);
        }
        if (c.p1, c.p2) != (0x3F, 0xFF) {
            return (vec![], sw::INCORRECT_P1P2);
        }
        let Some(items) = tlv::parse(&c.data) else {
            return (vec![], sw::WRONG_DATA);
        };
        let (Some(tag), Some(value)) = (tlv::find(&items, &[0x5C]), tlv::find(&items, &[0x53]))
        else {
            return (vec![], sw::WRONG_DATA);
        };
        if tag.is_empty() || tag == [0x7E] {
            return (vec![], sw::INCORRECT_P1P2);
        }
        if value.is_empty() {
            self.objects.remove(tag);
        } else {
            self.objects.insert(tag.to_vec(), value.to_vec());
        }
        (vec![], sw::OK)
    }

    fn set_management_key(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    fn set_pin_retries(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

/// The discovery object: the PIV AID and a PIN usage policy of "PIV PIN only".
fn discovery() -> Vec<u8> {
    let mut body = tlv::tlv(
        &[0x4F],
        &[
            0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
        ],
    );
    tlv::put(&mut body, &[0x5F, 0x2F], &[0x40, 0x00]);
    tlv::tlv(&[0x7E], &body)
}

/// A CHUID whose GUID follows from the serial (FASC-N of a non-federal issuer).
fn chuid(serial: u32) -> Vec<u8> {
    let fascn = [
        0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21,
        0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
    ];
    let mut guid = [0u8; 16];
    guid[..4].copy_from_slice(b"PMFA");
    guid[12..].copy_from_slice(&serial.to_be_bytes());
    let mut out = tlv::tlv(&[0x30], &fascn);
    tlv::put(&mut out, &[0x34], &guid);
    tlv::put(&mut out, &[0x35], b"20991231");
    tlv::put(&mut out, &[0x3E], &[]);
    tlv::put(&mut out, &[0xFE], &[]);
    out
}

/// A certificate object's content (inside tag 53): the DER, no compression, no LRC.
pub fn cert_object(der: &[u8]) -> Vec<u8> {
    let mut out = tlv::tlv(&[0x70], der);
    tlv::put(&mut out, &[0x71], &[0x00]);
    tlv::put(&mut out, &[0xFE], &[]);
    out
}

/// `value` padded with FF to 8 bytes (longer values are kept whole, so never match).
fn pad8(value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    while v.len() < 8 {
        v.push(0xFF);
    }
    v
}

/// The PIN or PUK inside an 8-byte FF-padded field (6 to 8 bytes).
fn unpad(padded: &[u8]) -> Option<Vec<u8>> {
    let v: Vec<u8> = padded.iter().copied().take_while(|&b| b != 0xFF).collect();
    (6..=8).contains(&v.len()).then_some(v)
}

/// Equality that does not stop at the first differing byte.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piv_card::touch::TouchAnswer;

    fn card(mgmt: ManagementKey) -> Piv {
        let root = Authority::test_root("unit");
        let cfg = PivConfig {
            management_key: mgmt,
            ..PivConfig::default()
        };
        let mut p = Piv::new(
            cfg,
            root.issue_attestation_ca(1),
            Touch::new(TouchAnswer::Touched, None),
        );
        let (_, status) = p.process(&cmd(0xA4, 0x04, 0x00, &PIV_AID));
        assert_eq!(status, sw::OK);
        p
    }

    fn cmd(ins: u8, p1: u8, p2: u8, data: &[u8]) -> Command {
        Command {
            cla: 0,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            le: None,
        }
    }

    fn dyn_auth(inner: &[u8]) -> Vec<u8> {
        tlv::tlv(&[0x7C], inner)
    }

    /// Host side of mutual authentication; true when both sides proved the key.
    fn mutual_auth(p: &mut Piv, host_key: &ManagementKey) -> bool {
        let alg = host_key.algorithm_id();
        let (r, s) = p.process(&cmd(0x87, alg, SLOT_MGMT, &dyn_auth(&[0x80, 0x00])));
        assert_eq!(s, sw::OK);
        let items = tlv::parse(&r).unwrap();
        let inner = tlv::parse(tlv::find(&items, &[0x7C]).unwrap()).unwrap();
        let witness = host_key.decrypt(tlv::find(&inner, &[0x80]).unwrap());
        let challenge = vec![0x5A; host_key.block_len()];
        let mut step2 = tlv::tlv(&[0x80], &witness);
        tlv::put(&mut step2, &[0x81], &challenge);
        let (r, s) = p.process(&cmd(0x87, alg, SLOT_MGMT, &dyn_auth(&step2)));
        if s != sw::OK {
            return false;
        }
        let items = tlv::parse(&r).unwrap();
        let inner = tlv::parse(tlv::find(&items, &[0x7C]).unwrap()).unwrap();
        tlv::find(&inner, &[0x82]).unwrap() == host_key.encrypt(&challenge)
    }

    fn generate(p: &mut Piv, slot: u8) -> u16 {
        let params = tlv::tlv(&[0xAC], &[0x80, 0x01, 0x11]);
        p.process(&cmd(0x47, 0x00, slot, &params)).1
    }

    #[test]
    fn aes192_and_3des_management_keys_authenticate_both_ways() {
        let aes = ManagementKey::parse(&format!("aes192:{}", "42".repeat(24))).unwrap();
        let mut p = card(aes.clone());
        assert_eq!(generate(&mut p, 0x9A), sw::SECURITY_STATUS);
        assert!(!mutual_auth(
            &mut p,
            &ManagementKey::parse(&format!("aes192:{}", "43".repeat(24))).unwrap()
        ));
        assert_eq!(generate(&mut p, 0x9A), sw::SECURITY_STATUS);
        assert!(mutual_auth(&mut p, &aes));
        assert_eq!(generate(&mut p, 0x9A), sw::OK);

        // External authentication with the default 3DES key.
        let des = ManagementKey::default();
        let mut p = card(des.clone());
        let (r, s) = p.process(&cmd(0x87, 0x03, SLOT_MGMT, &dyn_auth(&[0x81, 0x00])));
        assert_eq!(s, sw::OK);
        let items = tlv::parse(&r).unwrap();
        let inner = tlv::parse(tlv::find(&items, &[0x7C]).unwrap()).unwrap();
        let challenge = tlv::find(&inner, &[0x81]).unwrap().to_vec();
        let wrong = dyn_auth(&tlv::tlv(&[0x82], &[0u8; 8]));
        assert_eq!(
            p.process(&cmd(0x87, 0x03, SLOT_MGMT, &wrong)).1,
            sw::SECURITY_STATUS
        );
        // A failed answer spends the challenge.
        let right = dyn_auth(&tlv::tlv(&[0x82], &des.encrypt(&challenge)));
        assert_eq!(
            p.process(&cmd(0x87, 0x03, SLOT_MGMT, &right)).1,
            sw::SECURITY_STATUS
        );
        assert_eq!(generate(&mut p, 0x9A), sw::SECURITY_STATUS);
        assert!(mutual_auth(&mut p, &des));
        assert_eq!(generate(&mut p, 0x9A), sw::OK);
        // A reset forgets the authentication.
        p.reset();
        p.process(&cmd(0xA4, 0x04, 0x00, &PIV_AID));
        assert_eq!(generate(&mut p, 0x9C), sw::SECURITY_STATUS);
    }

    #[test]
    fn put_and_get_data_and_the_f9_certificate_object() {
        let mut p = card(ManagementKey::default());
        let get =
            |p: &mut Piv, tag: &[u8]| p.process(&cmd(0xCB, 0x3F, 0xFF, &tlv::tlv(&[0x5C], tag)));
        let (f9, s) = get(&mut p, &TAG_ATTESTATION_CERT);
        assert_eq!(s, sw::OK);
        let outer = tlv::parse(&f9).unwrap();
        let inner = tlv::parse(tlv::find(&outer, &[0x53]).unwrap()).unwrap();
        assert_eq!(
            tlv::find(&inner, &[0x70]).unwrap(),
            p.f9.cert_der.as_slice()
        );
        assert_eq!(get(&mut p, &[0x5F, 0xC1, 0x05]).1, sw::FILE_NOT_FOUND);
        let mut put = tlv::tlv(&[0x5C], &[0x5F, 0xC1, 0x05]);
        tlv::put(&mut put, &[0x53], &cert_object(&[1, 2, 3]));
        assert_eq!(
            p.process(&cmd(0xDB, 0x3F, 0xFF, &put)).1,
            sw::SECURITY_STATUS
        );
        assert!(mutual_auth(&mut p, &ManagementKey::default()));
        assert_eq!(p.process(&cmd(0xDB, 0x3F, 0xFF, &put)).1, sw::OK);
        let (cert, s) = get(&mut p, &[0x5F, 0xC1, 0x05]);
        assert_eq!(
            (cert, s),
            (tlv::tlv(&[0x53], &cert_object(&[1, 2, 3])), sw::OK)
        );
        let (disc, s) = get(&mut p, &[0x7E]);
        assert_eq!((disc[0], s), (0x7E, sw::OK));
    }

    #[test]
    fn unselected_applet_and_signing_without_a_key_are_refused() {
        let root = Authority::test_root("unit");
        let mut p = Piv::new(
            PivConfig::default(),
            root.issue_attestation_ca(1),
            Touch::new(TouchAnswer::Touched, None),
        );
        assert_eq!(p.process(&cmd(0xF8, 0, 0, &[])).1, sw::INS_NOT_SUPPORTED);
        p.process(&cmd(0xA4, 0x04, 0x00, &PIV_AID));
        let sign = dyn_auth(&[0x82, 0x00, 0x81, 0x01, 0xAB]);
        assert_eq!(
            p.process(&cmd(0x87, 0x11, 0x9A, &sign)).1,
            sw::FILE_NOT_FOUND
        );
        assert_eq!(
            p.process(&cmd(0x87, 0x11, SLOT_ATTESTATION, &sign)).1,
            sw::INCORRECT_P1P2
        );
        assert_eq!(p.process(&cmd(0xF9, 0x9A, 0, &[])).1, sw::FILE_NOT_FOUND);
        assert_eq!(
            p.process(&cmd(0xF9, SLOT_ATTESTATION, 0, &[])).1,
            sw::INCORRECT_P1P2
        );
    }
}
