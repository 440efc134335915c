//! The software authenticator on its own: determinism, counters and their
//! file, PIN state across power-ups, refusals, its registration.

use std::time::Duration;

use super::*;
use crate::fido2::GetAssertionRequest;
use crate::verify::webauthn::{client_data_hash, verify_assertion};

fn req(a: &SoftAuthenticator, uv: bool) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: a.rp_id.clone(),
        client_data_hash: client_data_hash("pmfa1:n:l:x", &a.rp_id),
        allow_credentials: vec![a.credential_id().to_vec()],
        user_verification: uv,
        pin_uv_auth: None,
    }
}

fn later() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn seeded_authenticators_are_deterministic() {
    let a = SoftAuthenticator::from_seed("example.com", b"one");
    let b = SoftAuthenticator::from_seed("example.com", b"one");
    let c = SoftAuthenticator::from_seed("example.com", b"two");
    assert_eq!(a.credential(), b.credential());
    assert_ne!(a.credential(), c.credential());
    assert_eq!(a.credential_id().len(), CREDENTIAL_ID_LEN);
    // ECDSA with RFC 6979 nonces: same request, same signature
    let (mut a, mut b) = (a, b);
    let r = req(&a, false);
    assert_eq!(
        a.get_assertion(&r, later()).unwrap(),
        b.get_assertion(&r, later()).unwrap()
    );
    let g = SoftAuthenticator::generate("example.com").unwrap();
    assert_ne!(g.credential(), a.credential());
}

#[test]
fn counter_increments_and_persists() {
    let dir = std::env::temp_dir().join(format!("pam-mfa-soft-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key.json");
    let mut a = SoftAuthenticator::from_seed("example.com", b"persist");
    a.counter = 41;
    a.user_verification = false;
    a.save(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let mut b = SoftAuthenticator::from_file(&path).unwrap();
    assert_eq!(b.credential(), a.credential());
    assert!(!b.user_verification && b.user_present);
    assert!(b.name().contains("key.json"));
    let r1 = b.get_assertion(&req(&b, false), later()).unwrap();
    let r2 = b.get_assertion(&req(&b, false), later()).unwrap();
    let cred = a.credential();
    let v1 = verify_assertion(
        &cred,
        "example.com",
        "pmfa1:n:l:x",
        &r1.authenticator_data,
        &r1.signature,
    )
    .unwrap();
    let v2 = verify_assertion(
        &cred,
        "example.com",
        "pmfa1:n:l:x",
        &r2.authenticator_data,
        &r2.signature,
    )
    .unwrap();
    assert_eq!((v1.counter, v2.counter), (42, 43));
    // saved after each assertion: a new process sees the counter
    let c = SoftAuthenticator::from_file(&path).unwrap();
    assert_eq!(c.counter, 43);
    // an authenticator not read from a file saves nothing
    a.get_assertion(&req(&a, false), later()).unwrap();
    assert_eq!(SoftAuthenticator::from_file(&path).unwrap().counter, 43);

    std::fs::write(&path, "{\"rp_id\":\"x\"}").unwrap();
    assert!(SoftAuthenticator::from_file(&path)
        .unwrap_err()
        .to_string()
        .contains("key.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pin_state_is_saved_and_power_ups_are_not() {
    use crate::fido2::client_pin::{get_info, pin_token};
    let dir = std::env::temp_dir().join(format!("pam-mfa-soft-pin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key.json");
    let mut a = SoftAuthenticator::from_seed("example.com", b"pin-file");
    a.set_pin("5551234");
    a.pin_protocols = vec![1];
    a.save(&path).unwrap();
    let mut b = SoftAuthenticator::from_file(&path).unwrap();
    assert!(b.has_pin() && !b.user_verification);
    assert_eq!(b.pin_protocols, [1]);
    let info = get_info(&mut b, later()).unwrap();
    assert_eq!(info.protocols, [1]);
    assert!(!info.token_with_permissions());
    for _ in 0..3 {
        let _ = pin_token(&mut b, &info, "0000", "example.com", later());
    }
    // A new process is a new power-up: no wrong PINs in a row, the
    // same tries left.
    let mut c = SoftAuthenticator::from_file(&path).unwrap();
    assert_eq!(c.pin_retries, 5);
    assert!(pin_token(&mut c, &info, "5551234", "example.com", later()).is_ok());
    assert_eq!(SoftAuthenticator::from_file(&path).unwrap().pin_retries, 8);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refuses_what_it_cannot_do() {
    let mut a = SoftAuthenticator::from_seed("example.com", b"refuse");
    let mut other_rp = req(&a, false);
    other_rp.rp_id = "evil.example".into();
    assert_eq!(
        a.get_assertion(&other_rp, later()),
        Err(Fido2Error::NoCredentials)
    );
    let mut other_cred = req(&a, false);
    other_cred.allow_credentials = vec![vec![1, 2, 3]];
    assert_eq!(
        a.get_assertion(&other_cred, later()),
        Err(Fido2Error::NoCredentials)
    );
    assert_eq!(
        a.get_assertion(&req(&a, false), Instant::now()),
        Err(Fido2Error::Timeout)
    );
    a.user_verification = false;
    assert!(matches!(
        a.get_assertion(&req(&a, true), later()),
        Err(Fido2Error::UserVerificationUnavailable(_))
    ));
    assert_eq!(a.counter, 0, "refusals do not count");
    // discoverable: no allow list
    let mut any = req(&a, false);
    any.allow_credentials.clear();
    assert!(a.get_assertion(&any, later()).is_ok());
}

#[test]
fn registration_is_a_teleport_webauthn_spec() {
    let a = SoftAuthenticator::from_seed("example.com", b"reg");
    let spec = serde_json::json!({ "user": "jerry", "webauthn": a.registration() });
    assert_eq!(
        WebauthnCredential::from_device_spec(&spec).unwrap(),
        a.credential()
    );
    assert_eq!(
        WebauthnCredential::from_device_spec(&a.registration()).unwrap(),
        a.credential()
    );
}

#[test]
fn der_integers_are_minimal() {
    let mut a = SoftAuthenticator::from_seed("example.com", b"der");
    for _ in 0..20 {
        let r = a.get_assertion(&req(&a, false), later()).unwrap();
        let sig = &r.signature;
        assert_eq!(sig[0], 0x30);
        assert_eq!(sig[1] as usize, sig.len() - 2);
        assert!(sig.len() <= 72);
        let cred = a.credential();
        verify_assertion(
            &cred,
            "example.com",
            "pmfa1:n:l:x",
            &r.authenticator_data,
            sig,
        )
        .unwrap();
    }
}
