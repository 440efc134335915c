//! The applet on its own: management keys both ways, data objects, refusals.

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
    let get = |p: &mut Piv, tag: &[u8]| p.process(&cmd(0xCB, 0x3F, 0xFF, &tlv::tlv(&[0x5C], tag)));
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
