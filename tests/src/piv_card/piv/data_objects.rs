//! Data objects: GET DATA and PUT DATA, the discovery object, the CHUID and
//! certificate objects.

use super::{sw, Command, Piv};
use crate::piv_card::tlv;

impl Piv {
    pub(super) fn get_data(&mut self, c: &Command) -> (Vec<u8>, u16) {
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

    pub(super) fn put_data(&mut self, c: &Command) -> (Vec<u8>, u16) {
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
}

/// The discovery object: the PIV AID and a PIN usage policy of "PIV PIN only".
pub(super) fn discovery() -> Vec<u8> {
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
pub(super) fn chuid(serial: u32) -> Vec<u8> {
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
