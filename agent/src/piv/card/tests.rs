//! The client against scripted card answers (the real card under pcscd is
//! exercised end to end in tests/tests/enroll.rs).

use std::time::Duration;

use zeroize::Zeroizing;

use super::tlv::tlv;
use super::*;
use crate::piv::{PinPolicy, PivSlot, TouchPolicy};

/// Answers by instruction byte; records every APDU sent.
type Answer = Box<dyn FnMut(&[u8]) -> Vec<u8>>;

struct Scripted {
    answer: Answer,
    sent: Vec<Vec<u8>>,
}

impl Transport for Scripted {
    fn open(_: Option<&str>, _: Duration) -> Result<Scripted, CardError> {
        Err(CardError::NoCard("scripted".into()))
    }
    fn transmit(&mut self, apdu: &[u8], _: &str) -> Result<Vec<u8>, CardError> {
        self.sent.push(apdu.to_vec());
        Ok((self.answer)(apdu))
    }
}

fn with_sw(mut d: Vec<u8>, sw: u16) -> Vec<u8> {
    d.extend(sw.to_be_bytes());
    d
}

fn client(mut answer: impl FnMut(&[u8]) -> Vec<u8> + 'static) -> PivClient<Scripted> {
    PivClient::new(Scripted {
        answer: Box::new(move |apdu| {
            if apdu[1] == 0xA4 {
                assert_eq!(&apdu[4..10], &[5, 0xA0, 0, 0, 3, 8]);
                return with_sw(vec![0x61, 0x00], 0x9000);
            }
            answer(apdu)
        }),
        sent: vec![],
    })
    .unwrap()
}

#[test]
fn select_failure_says_not_a_piv_card() {
    let e = PivClient::new(Scripted {
        answer: Box::new(|_| vec![0x6A, 0x82]),
        sent: vec![],
    })
    .err()
    .unwrap();
    assert_eq!(e.status_word(), Some(0x6A82));
    assert!(e.to_string().contains("not a PIV card"), "{e}");
}

#[test]
fn verify_pin_pads_reports_tries_and_never_shows_the_pin() {
    let mut left = 3u16;
    let mut c = client(move |apdu| {
        assert_eq!(&apdu[..5], &[0, 0x20, 0, 0x80, 8]);
        if &apdu[5..] == b"654321\xff\xff" {
            vec![0x90, 0]
        } else {
            left -= 1;
            (0x63C0 | left).to_be_bytes().to_vec()
        }
    });
    let e = c.verify_pin(&Zeroizing::new("000000".into())).unwrap_err();
    assert_eq!(e, CardError::WrongPin { left: 2 });
    assert!(e.to_string().contains("2 tries left (63C2)"), "{e}");
    assert!(!e.to_string().contains("000000"));
    c.verify_pin(&Zeroizing::new("654321".into())).unwrap();
    let short = c.verify_pin(&Zeroizing::new("123".into())).unwrap_err();
    assert!(matches!(short, CardError::Invalid(_)) && !short.to_string().contains("123"));
    assert_eq!(CardError::WrongPin { left: 0 }.status_word(), Some(0x6983));
}

#[test]
fn version_serial_and_pin_status() {
    let mut c = client(|apdu| match apdu[1] {
        0xFD => with_sw(vec![5, 7, 1], 0x9000),
        0xF8 => with_sw(10_000_001u32.to_be_bytes().to_vec(), 0x9000),
        0x20 => vec![0x63, 0xC3],
        _ => vec![0x6D, 0x00],
    });
    assert_eq!(c.version().unwrap(), (5, 7, 1));
    assert_eq!(c.serial().unwrap(), 10_000_001);
    assert_eq!(c.pin_tries_left().unwrap(), Some(3));
    let e = c.certificate(PivSlot::Signature).unwrap_err();
    assert!(
        e.to_string().contains("6D00 (instruction not supported)"),
        "{e}"
    );
}

#[test]
fn metadata_is_parsed() {
    let mut point = vec![4];
    point.extend([7; 64]);
    let mut body = tlv(&[0x01], &[0x11]);
    body.extend(tlv(&[0x02], &[3, 2]));
    body.extend(tlv(&[0x03], &[1]));
    body.extend(tlv(&[0x04], &tlv(&[0x86], &point)));
    let m = parse_metadata(&body, "t").unwrap();
    assert_eq!(m.algorithm, Some(KeyAlgorithm::EccP256));
    assert_eq!(
        (m.pin_policy, m.touch_policy),
        (PinPolicy::Always, TouchPolicy::Always)
    );
    assert_eq!(m.generated, Some(true));
    assert_eq!(m.public_point.as_deref(), Some(&point[..]));
    let bad = tlv(&[0x02], &[9, 9]);
    assert!(parse_metadata(&bad, "t").is_err());
}

#[test]
fn certificates_come_out_of_their_objects() {
    let cert = vec![0x30, 0x03, 1, 2, 3];
    let object = {
        let mut v = tlv(&[0x70], &cert);
        v.extend(tlv(&[0x71], &[0]));
        v.extend(tlv(&[0xFE], &[]));
        tlv(&[0x53], &v)
    };
    let mut c = client(move |apdu| {
        assert_eq!(&apdu[..4], &[0, 0xCB, 0x3F, 0xFF]);
        match &apdu[5..10] {
            [0x5C, 3, 0x5F, 0xFF, 0x01] => with_sw(object.clone(), 0x9000),
            _ => vec![0x6A, 0x82],
        }
    });
    assert_eq!(c.attestation_intermediate().unwrap(), cert);
    let e = c.certificate(PivSlot::Authentication).unwrap_err();
    assert!(matches!(e, CardError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("slot 9a"), "{e}");
}

#[test]
fn sign_sends_the_digest_and_explains_a_refusal() {
    let sig = vec![0x30, 0x06, 2, 1, 1, 2, 1, 1];
    let s2 = sig.clone();
    let mut touched = false;
    let mut c = client(move |apdu| match apdu[1] {
        0x87 => {
            assert_eq!(apdu[2], 0x11);
            assert_eq!(apdu[3], 0x9C);
            assert_eq!(&apdu[5..9], &[0x7C, 36, 0x82, 0x00]);
            assert_eq!(&apdu[9..11], &[0x81, 32]);
            if touched {
                with_sw(tlv(&[0x7C], &tlv(&[0x82], &s2)), 0x9000)
            } else {
                touched = true;
                vec![0x69, 0x82]
            }
        }
        0xF7 => {
            let mut b = tlv(&[0x01], &[0x11]);
            b.extend(tlv(&[0x02], &[1, 2]));
            with_sw(b, 0x9000)
        }
        _ => vec![0x6D, 0x00],
    });
    let e = c.sign(PivSlot::Signature, &[9; 32]).unwrap_err();
    assert!(matches!(e, CardError::TouchRequired { .. }), "{e}");
    assert_eq!(c.sign(PivSlot::Signature, &[9; 32]).unwrap(), sig);
    let e = c.sign(PivSlot::Signature, &[9; 20]).unwrap_err();
    assert!(e.to_string().contains("20 bytes"), "{e}");
}

#[test]
fn sign_without_the_pin_says_so() {
    let mut c = client(|apdu| match apdu[1] {
        0x87 => vec![0x69, 0x82],
        0xF7 => {
            let mut b = tlv(&[0x01], &[0x14]);
            b.extend(tlv(&[0x02], &[2, 1]));
            with_sw(b, 0x9000)
        }
        _ => vec![0x6D, 0x00],
    });
    let e = c.sign(PivSlot::CardAuthentication, &[1; 48]).unwrap_err();
    assert!(matches!(e, CardError::PinRequired { .. }), "{e}");
}

#[test]
fn generate_authenticates_then_sends_the_policies() {
    // A card holding the default 3DES management key.
    let key = ManagementKey::default();
    let witness = [0x11u8; 8];
    let mut point = vec![4];
    point.extend([5; 96]);
    let p2 = point.clone();
    let mut c = client(move |apdu| match (apdu[1], apdu[3]) {
        (0x87, 0x9B) => {
            assert_eq!(apdu[2], 0x03);
            let body = &apdu[5..5 + usize::from(apdu[4])];
            if body == [0x7C, 2, 0x80, 0] {
                let enc = key.test_crypt(&witness, true);
                with_sw(tlv(&[0x7C], &tlv(&[0x80], &enc)), 0x9000)
            } else {
                // 7C 14 80 08 witness 81 08 challenge
                assert_eq!(&body[4..12], &witness);
                let enc = key.test_crypt(&body[14..22], true);
                with_sw(tlv(&[0x7C], &tlv(&[0x82], &enc)), 0x9000)
            }
        }
        (0x47, 0x9D) => {
            let body = &apdu[5..5 + usize::from(apdu[4])];
            assert_eq!(body, &[0xAC, 9, 0x80, 1, 0x14, 0xAA, 1, 2, 0xAB, 1, 3]);
            with_sw(tlv(&[0x7F, 0x49], &tlv(&[0x86], &p2)), 0x9000)
        }
        _ => vec![0x6D, 0x00],
    });
    let got = c
        .generate(
            PivSlot::KeyManagement,
            KeyAlgorithm::EccP384,
            PinPolicy::Once,
            TouchPolicy::Cached,
        )
        .unwrap();
    assert_eq!(got, point);
}

#[test]
fn a_card_without_the_management_key_is_refused() {
    let mut c = client(|apdu| match apdu[1] {
        0x87 if apdu[5..9] == [0x7C, 2, 0x80, 0] => {
            with_sw(tlv(&[0x7C], &tlv(&[0x80], &[1; 8])), 0x9000)
        }
        0x87 => with_sw(tlv(&[0x7C], &tlv(&[0x82], &[2; 8])), 0x9000),
        _ => panic!("GENERATE sent without authentication"),
    });
    let e = c
        .generate(
            PivSlot::Signature,
            KeyAlgorithm::EccP256,
            PinPolicy::Never,
            TouchPolicy::Always,
        )
        .unwrap_err();
    assert!(e.to_string().contains("did not prove"), "{e}");
}

#[test]
fn algorithms() {
    assert_eq!(KeyAlgorithm::parse("P-384").unwrap(), KeyAlgorithm::EccP384);
    assert!(KeyAlgorithm::parse("rsa2048").is_err());
    assert_eq!(KeyAlgorithm::from_id(0x11), Some(KeyAlgorithm::EccP256));
    assert_eq!(KeyAlgorithm::for_digest(48), Some(KeyAlgorithm::EccP384));
    assert_eq!(
        certificate_object(PivSlot::CardAuthentication),
        [0x5F, 0xC1, 0x01]
    );
}
