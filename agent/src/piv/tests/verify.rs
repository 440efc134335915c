//! verify_chain on minted chains: each extension value read, each broken
//! link refused with a reason naming it.

use super::chain::{f9, intermediate, root, slot_cert, Minted, Slot};
use crate::piv::{verify_chain, FormFactor, PinPolicy, PivSlot, TouchPolicy, TrustedRoots};
use crate::policy::KeyPolicy;

fn class_of(s: &Slot) -> KeyPolicy {
    let m = Minted::new(s);
    let a = verify_chain(&m.chain(), &m.roots()).expect("verifies");
    crate::piv::attested_class(&a)
}

#[test]
fn reads_every_extension() {
    let s = Slot {
        slot: "9d",
        pin: 3,
        touch: 3,
        serial: Some(31_415_926),
        firmware: [5, 7, 2],
        form_factor: 0x84,
    };
    let m = Minted::new(&s);
    let a = verify_chain(&m.chain(), &m.roots()).unwrap();
    assert_eq!(a.slot, Some(PivSlot::KeyManagement));
    assert_eq!(a.serial, Some(31_415_926));
    assert_eq!(a.firmware, Some((5, 7, 2)));
    assert_eq!(
        (a.pin_policy, a.touch_policy),
        (PinPolicy::Always, TouchPolicy::Cached)
    );
    assert_eq!(a.form_factor, Some(FormFactor(0x84)));
    assert!(a.form_factor.unwrap().fips());
    assert_eq!(a.root, "CN=Test PIV Root CA");
    // The attested key is the slot certificate's key.
    let (_, slot) = <x509_parser::certificate::X509Certificate as x509_parser::prelude::FromDer<
        _,
    >>::from_der(m.slot.cert.der())
    .unwrap();
    assert_eq!(a.public_key_spki, slot.public_key().raw);
    use sha2::Digest;
    assert_eq!(
        a.public_key_spki_sha256,
        <[u8; 32]>::from(sha2::Sha256::digest(&a.public_key_spki))
    );
    // Serial 0x80 needs a leading zero byte in DER; still read right.
    let m = Minted::new(&Slot {
        serial: Some(128),
        ..Slot::default()
    });
    assert_eq!(
        verify_chain(&m.chain(), &m.roots()).unwrap().serial,
        Some(128)
    );
    let m = Minted::new(&Slot {
        serial: None,
        ..Slot::default()
    });
    assert_eq!(verify_chain(&m.chain(), &m.roots()).unwrap().serial, None);
}

#[test]
fn each_policy_gives_its_class() {
    use KeyPolicy::*;
    // (pin byte, touch byte) → class: pin 1 never 2 once 3 always 4/5 a
    // YubiKey Bio's fingerprint (no PIN, as Teleport's
    // GetPrivateKeyPolicyFromAttestation); touch 1 never 2 always 3 cached.
    let cases = [
        (1, 1, HardwareKey),
        (4, 2, HardwareKeyTouch),
        (5, 1, HardwareKey),
        (1, 2, HardwareKeyTouch),
        (1, 3, HardwareKeyTouch),
        (2, 1, HardwareKeyPin),
        (3, 1, HardwareKeyPin),
        (2, 2, HardwareKeyTouchAndPin),
        (3, 3, HardwareKeyTouchAndPin),
    ];
    for (pin, touch, want) in cases {
        assert_eq!(
            class_of(&Slot {
                pin,
                touch,
                ..Slot::default()
            }),
            want,
            "pin {pin} touch {touch}"
        );
    }
}

#[test]
fn a_policy_extension_that_states_no_policy_is_refused() {
    // piv-go's Verify refuses the slot default (0) and unknown bytes.
    for (pin, touch) in [(0, 0), (0, 2), (2, 0), (6, 2), (2, 4)] {
        let m = Minted::new(&Slot {
            pin,
            touch,
            ..Slot::default()
        });
        let e = verify_chain(&m.chain(), &m.roots())
            .expect_err("refused")
            .to_string();
        assert!(e.contains("policy"), "pin {pin} touch {touch}: {e}");
    }
}

fn refused(chain: &[Vec<u8>], roots: &TrustedRoots, want: &str) {
    let e = verify_chain(chain, roots).expect_err(want).to_string();
    assert!(e.contains(want), "want {want:?}, got {e}");
}

#[test]
fn broken_links_are_refused_with_the_reason() {
    let m = Minted::new(&Slot::default());
    let roots = m.roots();
    let chain = m.chain();

    // A policy byte changed after signing (touch never → always): the slot signature fails.
    let plain = Minted::new(&Slot {
        touch: 1,
        ..Slot::default()
    });
    let mut tampered = plain.chain();
    let marker = [0x2b, 6, 1, 4, 1, 0x82, 0xc4, 0x0a, 3, 8]; // the .3.8 OID body
    let at = tampered[0]
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap();
    // OID, then OCTET STRING (04 02) holding pin, touch.
    let value_at = at + marker.len();
    assert_eq!(tampered[0][value_at..value_at + 2], [0x04, 2]);
    let touch_at = value_at + 3;
    assert_eq!(tampered[0][touch_at], 1);
    tampered[0][touch_at] = 2;
    refused(
        &tampered,
        &plain.roots(),
        "slot certificate not signed by the attestation (F9) certificate",
    );

    // A flipped bit in the F9 signature.
    let mut bad = chain.clone();
    let n = bad[1].len();
    bad[1][n - 3] ^= 1;
    refused(
        &bad,
        &roots,
        "attestation (F9) certificate not signed by the intermediate certificate 1",
    );

    // Under a root we do not trust (same names, other keys).
    let other = Minted::new(&Slot::default());
    refused(
        &other.chain(),
        &roots,
        "intermediate certificate 1 from an untrusted root",
    );
    // ... and with no roots at all.
    refused(&chain, &TrustedRoots::default(), "from an untrusted root");
    // A root of another name.
    let stranger = root("Someone Else");
    let stranger_roots = TrustedRoots::from_pem(&stranger.cert.pem(), "x").unwrap();
    refused(&chain, &stranger_roots, "no trusted root of that name");

    // Wrong order.
    refused(
        &[chain[1].clone(), chain[0].clone(), chain[2].clone()],
        &roots,
        "attestation (F9) certificate is itself a slot attestation",
    );
    refused(
        &[chain[0].clone(), chain[2].clone(), chain[1].clone()],
        &roots,
        "slot certificate not signed by the attestation (F9) certificate",
    );
    // The F9 link missing.
    refused(
        &[chain[0].clone(), chain[2].clone()],
        &roots,
        "slot certificate not signed by the attestation (F9) certificate",
    );
    refused(&chain[..1], &roots, "no attestation (F9) certificate");
    refused(&[], &roots, "empty");
    // The intermediate missing: the F9 is not signed by the root itself.
    refused(
        &chain[..2],
        &roots,
        "attestation (F9) certificate from an untrusted root",
    );
    // Garbage.
    refused(
        &[chain[0].clone(), vec![0x30, 0x03, 1, 2, 3]],
        &roots,
        "attestation (F9) certificate does not parse",
    );
    let mut trailing = chain.clone();
    trailing[0].push(0);
    refused(&trailing, &roots, "slot certificate has trailing data");
}

#[test]
fn chain_shapes() {
    let m = Minted::new(&Slot::default());
    let roots = m.roots();
    // The pre-5.7 shape: F9 directly under the root.
    let f9_direct = f9(&m.root);
    let slot = slot_cert(&Slot::default(), &f9_direct);
    let short = vec![slot.cert.der().to_vec(), f9_direct.cert.der().to_vec()];
    assert!(verify_chain(&short, &roots).is_ok());
    // A trailing copy of the root is accepted.
    let mut with_root = m.chain();
    with_root.push(m.root.cert.der().to_vec());
    assert!(verify_chain(&with_root, &roots).is_ok());
    // Two intermediates are fine, three are too many.
    let i1 = intermediate("I1", &m.root);
    let i2 = intermediate("I2", &i1);
    let i3 = intermediate("I3", &i2);
    for (top, ok) in [(&i2, true), (&i3, false)] {
        let f = f9(top);
        let s = slot_cert(&Slot::default(), &f);
        let mut chain = vec![s.cert.der().to_vec(), f.cert.der().to_vec()];
        let mut above: Vec<&super::chain::Ca> = vec![&i1, &i2, &i3];
        above.truncate(if ok { 2 } else { 3 });
        chain.extend(above.iter().rev().map(|c| c.cert.der().to_vec()));
        let r = verify_chain(&chain, &roots);
        assert_eq!(r.is_ok(), ok, "{r:?}");
        if !ok {
            assert!(r
                .unwrap_err()
                .0
                .contains("3 intermediates above the F9 certificate (at most 2)"));
        }
    }
}

#[test]
fn an_attested_key_cannot_attest_another() {
    // The holder of a real touch-never key signs a "slot certificate" claiming
    // touch always for another key, with the real slot certificate as its F9.
    let m = Minted::new(&Slot {
        touch: 1,
        ..Slot::default()
    });
    let forged = slot_cert(
        &Slot {
            touch: 2,
            ..Slot::default()
        },
        &m.slot,
    );
    let mut chain = vec![forged.cert.der().to_vec()];
    chain.extend(m.chain());
    refused(
        &chain,
        &m.roots(),
        "attestation (F9) certificate is itself a slot attestation",
    );
}

#[test]
fn a_chain_without_the_policy_extension_has_no_class() {
    let m = Minted::new(&Slot::default());
    // The F9 certificate presented as if it were a slot certificate.
    let chain = vec![m.f9.cert.der().to_vec(), m.intermediate.cert.der().to_vec()];
    refused(
        &chain,
        &m.roots(),
        "slot certificate has no PIN/touch policy extension",
    );
}

#[test]
fn attested_key_in_openssh_form() {
    let m = Minted::new(&Slot::default());
    let a = verify_chain(&m.chain(), &m.roots()).unwrap();
    let ssh = a.ssh_public_key().unwrap();
    assert_eq!(ssh.algorithm().as_str(), "ecdsa-sha2-nistp256");
    // The same point as the slot key rcgen made.
    let point = m.slot.key.public_key_raw();
    let want = ssh_key::public::EcdsaPublicKey::from_sec1_bytes(point).unwrap();
    assert_eq!(ssh.key_data(), &ssh_key::public::KeyData::Ecdsa(want));
    let line = ssh.to_openssh().unwrap();
    assert!(
        a.is_ssh_key(&ssh_key::PublicKey::from_openssh(&format!("{line} jerry@laptop")).unwrap())
    );
    // Another key, or a key of another type, is not it.
    let other = Minted::new(&Slot::default());
    let other_key = verify_chain(&other.chain(), &other.roots())
        .unwrap()
        .ssh_public_key()
        .unwrap();
    assert!(!a.is_ssh_key(&other_key));
    let ed = ssh_key::PublicKey::from_openssh(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFbS0nnp3dcsnDPXM8oGMfWR6fD6lvPLVZ3ZzNsTYRGk",
    )
    .unwrap();
    assert!(!a.is_ssh_key(&ed));
}
