//! The agent's PIV client (`mfa_agent::piv::card`) against the software card
//! under real pcscd + vpcd: this process reaches the namespaced pcscd through
//! `/proc/PID/root` and libpcsclite's `PCSCLITE_CSOCK_NAME` (read once per
//! process, so everything is one test).

use std::path::Path;
use std::time::Duration;

use mfa_agent::piv::card::{CardError, KeyAlgorithm, ManagementKey, PcscPivCard, PivCard};
use mfa_agent::piv::{PinPolicy, PivSlot, PivVerifier, TouchPolicy, TrustedRoots};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::require_root;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const CARD: &str = env!("CARGO_BIN_EXE_piv-card");

#[test]
fn the_client_drives_a_card_through_pcscd() {
    require_root!();
    pam_mfa_e2e::piv_card::tools::require_pcsc_tools(&[]);
    let mut env = PcscEnv::start("piv-client");
    env.start_card(
        Path::new(CARD),
        &CardOptions {
            management_key: Some(format!("aes192:{}", "42".repeat(24))),
            ..CardOptions::default()
        },
    );
    std::env::set_var(
        "PCSCLITE_CSOCK_NAME",
        format!("/proc/{}/root/run/pcscd/pcscd.comm", env.pcscd_pid()),
    );
    let mut card = PcscPivCard::open_with(Some("Virtual PCD"), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("open: {e}\npcscd:\n{}", env.pcscd_log()));
    assert!(card.reader().contains("Virtual PCD"), "{}", card.reader());
    assert_eq!(card.serial().unwrap(), 10_000_001);
    assert_eq!(card.version().unwrap(), (5, 4, 3));

    // PIN: a wrong one counts down and says so, without the PIN.
    assert_eq!(card.pin_tries_left().unwrap(), Some(3));
    let e = card
        .verify_pin(&Zeroizing::new("999999".into()))
        .unwrap_err();
    assert_eq!(e, CardError::WrongPin { left: 2 });
    assert!(!e.to_string().contains("999999"));

    // GENERATE needs the card's management key: the default (3DES) is
    // refused by this AES-192 card, and so is a wrong AES-192 key.
    let gen = |card: &mut PcscPivCard| {
        card.generate(
            PivSlot::Authentication,
            KeyAlgorithm::EccP256,
            PinPolicy::Once,
            TouchPolicy::Never,
        )
    };
    let e = gen(&mut card).unwrap_err();
    assert_eq!(e.status_word(), Some(0x6A86), "{e}");
    assert!(e.to_string().contains("not a 3DES key"), "{e}");
    card.set_management_key(ManagementKey::parse(&format!("aes192:{}", "41".repeat(24))).unwrap());
    let e = gen(&mut card).unwrap_err();
    assert!(e.to_string().contains("wrong management key"), "{e}");
    card.set_management_key(ManagementKey::parse(&format!("aes192:{}", "42".repeat(24))).unwrap());
    let point = card
        .generate(
            PivSlot::Authentication,
            KeyAlgorithm::EccP256,
            PinPolicy::Once,
            TouchPolicy::Never,
        )
        .unwrap();
    let meta = card.metadata(PivSlot::Authentication).unwrap();
    assert_eq!(
        (
            meta.algorithm,
            meta.pin_policy,
            meta.touch_policy,
            meta.generated
        ),
        (
            Some(KeyAlgorithm::EccP256),
            PinPolicy::Once,
            TouchPolicy::Never,
            Some(true)
        )
    );
    assert_eq!(meta.public_point.as_deref(), Some(&point[..]));

    // The attestation chain verifies under the card's test root.
    let chain = vec![
        card.attest(PivSlot::Authentication).unwrap(),
        card.attestation_intermediate().unwrap(),
    ];
    let root = std::fs::read_to_string(env.root_cert_path()).unwrap();
    let att = PivVerifier::new(TrustedRoots::from_pem(&root, "test root").unwrap())
        .verify(&chain)
        .unwrap();
    assert_eq!(
        (att.serial, att.pin_policy),
        (Some(10_000_001), PinPolicy::Once)
    );
    assert!(att.public_key_spki.ends_with(&point));

    // Signing: the PIN first (the card says so), then a signature that verifies.
    let digest: [u8; 32] = Sha256::digest(b"pmfa1:node:jerry:nonce").into();
    let e = card.sign(PivSlot::Authentication, &digest).unwrap_err();
    assert!(matches!(e, CardError::PinRequired { .. }), "{e}");
    card.verify_pin(&Zeroizing::new("123456".into())).unwrap();
    assert_eq!(card.pin_tries_left().unwrap(), None);
    let sig = card.sign(PivSlot::Authentication, &digest).unwrap();
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    key.verify_prehash(&digest, &p256::ecdsa::Signature::from_der(&sig).unwrap())
        .unwrap();

    // A touch key whose touch does not come: TouchRequired.
    card.generate(
        PivSlot::Signature,
        KeyAlgorithm::EccP384,
        PinPolicy::Never,
        TouchPolicy::Always,
    )
    .unwrap();
    env.set_touch("not touched");
    let e = card.sign(PivSlot::Signature, &[7; 48]).unwrap_err();
    assert!(matches!(e, CardError::TouchRequired { .. }), "{e}");
    env.set_touch("touched");
    let sig = card.sign(PivSlot::Signature, &[7; 48]).unwrap();
    assert_eq!(sig[0], 0x30);

    // Empty things are named.
    let e = card.certificate(PivSlot::KeyManagement).unwrap_err();
    assert!(matches!(e, CardError::NotFound { .. }), "{e}");
    let e = card.attest(PivSlot::CardAuthentication).unwrap_err();
    assert!(e.to_string().contains("ATTEST slot 9e"), "{e}");

    // No such reader: a clear error, within the wait.
    let e = PcscPivCard::open_with(Some("No Such Reader"), Duration::from_millis(200))
        .err()
        .unwrap();
    assert!(matches!(e, CardError::NoCard(_)), "{e}");
}
