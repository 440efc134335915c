//! WebAuthn enrollment with the software authenticator: attestation CAs
//! allowed and denied, user verification for a PIN requirement, and the
//! registered key then tapping.

use std::path::PathBuf;

use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};

use super::*;
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::Authenticator;
use crate::piv::tests::chain::{root, Ca};
use crate::policy::{load_bundle_str, KeyPolicy};
use crate::verify::webauthn::{client_data_hash, verify_assertion, WebauthnCredential};

/// An attestation certificate (P-256) under `ca`: (DER, key scalar).
fn attestation_leaf(ca: &Ca) -> (Vec<u8>, [u8; 32]) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Test FIDO Attestation");
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    // PKCS#8 of a P-256 key: the scalar follows ECPrivateKey's
    // version (02 01 01) as an OCTET STRING of 32 (04 20).
    let der = key.serialize_der();
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .unwrap();
    (
        cert.der().to_vec(),
        der[at + 5..at + 37].try_into().unwrap(),
    )
}

/// A cap allowing WebAuthn with the `webauthn` block given; with none,
/// an OTP cap (Teleport refuses WebAuthn without its block).
fn bundle(webauthn: &str) -> crate::policy::Bundle {
    let factor = if webauthn.is_empty() {
        "otp"
    } else {
        "webauthn"
    };
    load_bundle_str(
        &format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: {factor}\n  require_session_mfa: true\n{webauthn}"
        ),
        "t",
    )
    .unwrap()
}

fn ctx(webauthn: &str) -> EnrollContext {
    EnrollContext {
        bundle: bundle(webauthn),
        bundle_origin: "t".into(),
        piv: Default::default(),
        user_known: false,
        traits: Default::default(),
        required: KeyPolicy::None,
    }
}

fn args() -> EnrollArgs {
    EnrollArgs {
        user: "jerry".into(),
        name: None,
        policy: None,
        config: PathBuf::from("/nonexistent"),
        config_given: false,
        method: EnrollMethod::Webauthn,
    }
}

fn pem(ca: &Ca) -> String {
    ca.cert.pem().replace('\n', "\n      ")
}

#[test]
fn an_attestation_under_an_allowed_ca_registers_and_the_key_then_taps() {
    let ca = root("Test FIDO CA");
    let (leaf, scalar) = attestation_leaf(&ca);
    let mut soft = SoftAuthenticator::from_seed("example.com", b"enroll");
    soft.set_attestation(scalar, vec![leaf]).unwrap();
    let c = ctx(&format!(
        "  webauthn:\n    rp_id: example.com\n    attestation_allowed_cas:\n    - |\n      {}\n",
        pem(&ca)
    ));
    let (done, id, rp) = register_webauthn(&c, &args(), &mut soft).unwrap();
    assert_eq!(rp, "example.com");
    assert_eq!(id, soft.credential_id());
    assert!(
        done.notes[0].contains("basic attestation by CN=Test FIDO CA"),
        "{:?}",
        done.notes
    );
    let b = load_bundle_str(&done.device.to_yaml(), "t").unwrap();
    let d = &b.devices()[0];
    assert!(d.name.starts_with("jerry-webauthn-"), "{}", d.name);
    let crate::policy::DeviceKind::Webauthn(w) = &d.kind else {
        panic!("{:?}", d.kind)
    };
    let cred = WebauthnCredential::new(w.credential_id.to_vec(), w.public_key.to_vec()).unwrap();
    assert_eq!(cred, soft.credential());
    // The BE flag it registered with is recorded, as Teleport records it:
    // later assertions must repeat it.
    assert!(done
        .device
        .to_yaml()
        .contains("credential_backup_eligible: false"));
    assert_eq!(w.backup_eligible, Some(false));
    // The registered credential answers a login challenge.
    let req = crate::fido2::GetAssertionRequest {
        rp_id: "example.com".into(),
        client_data_hash: client_data_hash("pmfa1:n:l:x", "example.com"),
        allow_credentials: vec![id.clone()],
        user_verification: false,
        pin_uv_auth: None,
    };
    let r = soft
        .get_assertion(
            &req,
            std::time::Instant::now() + std::time::Duration::from_secs(5),
        )
        .unwrap();
    verify_assertion(
        &cred,
        "example.com",
        "pmfa1:n:l:x",
        &r.authenticator_data,
        &r.signature,
    )
    .unwrap();
}

#[test]
fn denied_unlisted_and_unattested_keys_are_refused_with_the_reason() {
    let ca = root("Test FIDO CA");
    let other = root("Another CA");
    let (leaf, scalar) = attestation_leaf(&ca);
    let mut soft = SoftAuthenticator::from_seed("example.com", b"enroll2");
    soft.set_attestation(scalar, vec![leaf]).unwrap();

    let denied = ctx(&format!(
        "  webauthn:\n    rp_id: example.com\n    attestation_denied_cas:\n    - |\n      {}\n",
        pem(&ca)
    ));
    let e = register_webauthn(&denied, &args(), &mut soft)
        .err()
        .unwrap();
    assert!(e.contains("chains to CN=Test FIDO CA, a denied CA"), "{e}");

    let unlisted = ctx(&format!(
        "  webauthn:\n    rp_id: example.com\n    attestation_allowed_cas:\n    - |\n      {}\n",
        pem(&other)
    ));
    let e = register_webauthn(&unlisted, &args(), &mut soft)
        .err()
        .unwrap();
    assert!(
        e.contains("chains to none of the attestation_allowed_cas"),
        "{e}"
    );

    let mut selfie = SoftAuthenticator::from_seed("example.com", b"self");
    let e = register_webauthn(&unlisted, &args(), &mut selfie)
        .err()
        .unwrap();
    assert!(e.contains("self attestation, no certificate"), "{e}");
    // Without CA lists, self attestation is enough.
    let open = ctx("  webauthn:\n    rp_id: example.com\n");
    assert!(register_webauthn(&open, &args(), &mut selfie).is_ok());

    let e = register_webauthn(&ctx(""), &args(), &mut selfie)
        .err()
        .unwrap();
    assert!(e.contains("no webauthn.rp_id"), "{e}");

    let missing = ctx(
        "  webauthn:\n    rp_id: example.com\n    attestation_allowed_cas: [/nonexistent/ca.pem]\n",
    );
    let e = register_webauthn(&missing, &args(), &mut selfie)
        .err()
        .unwrap();
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
}

#[test]
fn a_pin_requirement_needs_user_verification_at_registration() {
    let mut c = ctx("  webauthn:\n    rp_id: example.com\n");
    c.required = KeyPolicy::HardwareKeyPin;
    let mut no_uv = SoftAuthenticator::from_seed("example.com", b"no-uv");
    no_uv.user_verification = false;
    let e = register_webauthn(&c, &args(), &mut no_uv).err().unwrap();
    assert!(e.contains("has no PIN"), "{e}");
    let mut uv = SoftAuthenticator::from_seed("example.com", b"uv");
    assert!(register_webauthn(&c, &args(), &mut uv).is_ok());
    let bad = ctx("  webauthn:\n    rp_id: example.com\n    attestation_denied_cas: /etc/ca.pem\n");
    let e = register_webauthn(&bad, &args(), &mut uv).err().unwrap();
    assert!(e.contains("attestation_denied_cas must be a list"), "{e}");
}

/// Answers the PIN question with a fixed PIN, recording what was asked.
struct PinPad(Vec<String>, &'static str);

impl crate::ctl::tap::Terminal for PinPad {
    fn say(&mut self, text: &str) -> Result<(), String> {
        self.0.push(text.into());
        Ok(())
    }
    fn ask_hidden(&mut self, prompt: &str) -> Result<zeroize::Zeroizing<String>, String> {
        self.0.push(format!("ASK {prompt}"));
        Ok(zeroize::Zeroizing::new(self.1.into()))
    }
}

#[test]
fn a_key_with_a_pin_registers_with_its_pin_when_the_cluster_needs_one() {
    use crate::ctl::register_webauthn_with;
    let mut c = ctx("  webauthn:\n    rp_id: example.com\n");
    c.required = KeyPolicy::HardwareKeyTouchAndPin;
    for protocols in [vec![2u8, 1], vec![1]] {
        let mut key = SoftAuthenticator::from_seed("example.com", b"mc-pin");
        key.set_pin("4831");
        key.pin_protocols = protocols.clone();
        let mut t = PinPad(Vec::new(), "4831");
        let (done, _, _) = register_webauthn_with(&c, &args(), &mut key, &mut t)
            .unwrap_or_else(|e| panic!("{protocols:?}: {e}"));
        assert_eq!(t.0.len(), 1, "{:?}", t.0);
        assert!(t.0[0].contains("PIN"), "{:?}", t.0);
        assert!(!format!("{:?}", done.notes).contains("4831"));
        // The registered credential signs with UV from the same PIN.
        assert_eq!(key.credential().credential_id.len(), 32);
    }
    // A wrong PIN: refused with the tries left, nothing registered.
    let mut key = SoftAuthenticator::from_seed("example.com", b"mc-pin");
    key.set_pin("4831");
    let before = key.credential();
    let e = register_webauthn_with(&c, &args(), &mut key, &mut PinPad(Vec::new(), "0000"))
        .err()
        .unwrap();
    assert!(e.contains("wrong PIN") && !e.contains("0000"), "{e}");
    assert_eq!(key.credential(), before);
    // Without a PIN requirement no PIN is asked, and no UV is claimed.
    let mut plain = ctx("  webauthn:\n    rp_id: example.com\n");
    plain.required = KeyPolicy::HardwareKeyTouch;
    let mut t = PinPad(Vec::new(), "4831");
    register_webauthn_with(&plain, &args(), &mut key, &mut t).unwrap();
    assert!(t.0.is_empty(), "{:?}", t.0);
}

#[test]
fn client_data_is_what_browsers_send_and_ids_are_remembered_for_tap() {
    let j = create_client_data_json(&[1, 2, 3], "example.com");
    assert_eq!(
        j,
        r#"{"type":"webauthn.create","challenge":"AQID","origin":"https://example.com","crossOrigin":false}"#
    );
    let dir = std::env::temp_dir().join(format!("pam-mfa-enroll-{}", std::process::id()));
    let file = dir.join("pam-mfa/webauthn-credentials");
    remember_credential(&file, "example.com", &[0xfb, 0xff]).unwrap();
    remember_credential(&file, "other.org", &[1]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "example.com -_8\nother.org AQ\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Never through a symlink (under sudo, HOME may be the user's).
    let target = dir.join("target");
    std::fs::write(&target, "").unwrap();
    let link = dir.join("pam-mfa/link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(remember_credential(&link, "example.com", &[1]).is_err());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    std::fs::remove_dir_all(&dir).unwrap();
}
