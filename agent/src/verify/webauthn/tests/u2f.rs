//! Legacy U2F devices: the DER key Teleport keeps, assertions signed for
//! the cap's app id.

use super::*;

const APP_ID: &str = "https://teleport.example.com:3080";

fn spki_der(a: &SoftAuthenticator) -> Vec<u8> {
    a.public_key_spki_der()
}

fn u2f_tap(a: &mut SoftAuthenticator) -> GetAssertionResponse {
    // As a browser with the appid extension: the key is asked for the app
    // id, the clientDataJSON is the rp_id's.
    let req = GetAssertionRequest {
        rp_id: APP_ID.into(),
        client_data_hash: client_data_hash(CHALLENGE, RP),
        allow_credentials: vec![a.credential_id().to_vec()],
        user_verification: false,
        pin_uv_auth: None,
    };
    a.get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap()
}

#[test]
fn a_u2f_assertion_verifies_for_the_app_id() {
    let mut a = SoftAuthenticator::from_seed(APP_ID, b"u2f");
    let cose = u2f_public_key_to_cose(&spki_der(&a)).unwrap();
    let cred = WebauthnCredential::new(a.credential_id().to_vec(), cose).unwrap();
    let r = u2f_tap(&mut a);
    let v = verify_u2f_assertion(
        &cred,
        RP,
        APP_ID,
        CHALLENGE,
        &r.authenticator_data,
        &r.signature,
    )
    .unwrap();
    assert!(v.user_present());
    // Not for the rp_id, nor for another app id, nor another challenge.
    assert_eq!(verify(&cred, &r), Err(WebauthnError::WrongRpId(RP.into())));
    assert!(matches!(
        verify_u2f_assertion(
            &cred,
            RP,
            "https://evil.example.com",
            CHALLENGE,
            &r.authenticator_data,
            &r.signature
        ),
        Err(WebauthnError::WrongRpId(_))
    ));
    assert_eq!(
        verify_u2f_assertion(
            &cred,
            RP,
            APP_ID,
            "pmfa1:x:y:AAAAAAAAAAAAAAAAAAAAAA",
            &r.authenticator_data,
            &r.signature
        ),
        Err(WebauthnError::SignatureInvalid)
    );
}

#[test]
fn u2f_keys_must_be_p256_der() {
    let a = SoftAuthenticator::from_seed(APP_ID, b"u2f-der");
    let good = spki_der(&a);
    let mut off_curve = good.clone();
    let n = off_curve.len();
    off_curve[n - 1] ^= 1;
    let mut p384_oid = good.clone();
    p384_oid[22] = 0x08; // ...03 01 07 -> not prime256v1
    let mut trailing = good.clone();
    trailing.push(0);
    for bad in [
        vec![],
        good[..40].to_vec(),
        off_curve,
        p384_oid,
        trailing,
        a.public_key_cose(),
    ] {
        let e = u2f_public_key_to_cose(&bad).unwrap_err();
        assert!(matches!(e, WebauthnError::BadPublicKey(_)), "{e}");
        assert!(e.to_string().contains("U2F public key"), "{e}");
    }
    // The COSE key made from the DER is the key's own.
    let cose = u2f_public_key_to_cose(&good).unwrap();
    let cred = WebauthnCredential::new(a.credential_id().to_vec(), cose).unwrap();
    let mut a = a;
    let r = u2f_tap(&mut a);
    verify_u2f_assertion(
        &cred,
        RP,
        APP_ID,
        CHALLENGE,
        &r.authenticator_data,
        &r.signature,
    )
    .unwrap();
}
