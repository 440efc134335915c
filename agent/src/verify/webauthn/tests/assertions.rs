use super::*;

#[test]
fn accepts_a_soft_authenticator_assertion() {
    let mut a = SoftAuthenticator::from_seed(RP, b"accept");
    let cred = WebauthnCredential::from_device_spec(&a.registration()).unwrap();
    let r = tap(&mut a, false);
    let v = verify(&cred, &r).unwrap();
    assert_eq!(
        v,
        WebauthnAssertion {
            flags: FLAG_USER_PRESENT,
            counter: 1
        }
    );
    assert!(v.user_present() && !v.user_verified());
    assert_eq!(r.credential_id, cred.credential_id);
}

#[test]
fn flags_come_from_the_authenticator_data() {
    let mut a = SoftAuthenticator::from_seed(RP, b"flags");
    let cred = a.credential();
    let with_uv = verify(&cred, &tap(&mut a, true)).unwrap();
    let without = verify(&cred, &tap(&mut a, false)).unwrap();
    assert_eq!(with_uv.flags, FLAG_USER_PRESENT | FLAG_USER_VERIFIED);
    assert!(with_uv.user_verified() && with_uv.user_present());
    assert_eq!(without.flags, FLAG_USER_PRESENT);
    assert!(!without.user_verified());
    assert_eq!((with_uv.counter, without.counter), (1, 2));
    // a silent assertion is reported as such
    a.user_present = false;
    let silent = verify(&cred, &tap(&mut a, false)).unwrap();
    assert!(!silent.user_present());
}

#[test]
fn backup_state_needs_backup_eligibility() {
    let mut a = SoftAuthenticator::from_seed(RP, b"backup");
    let cred = a.credential();
    // BS without BE: go-webauthn's ValidateLogin refuses it.
    a.backup_state = true;
    assert!(matches!(
        verify(&cred, &tap(&mut a, false)),
        Err(WebauthnError::BadAuthenticatorData(why)) if why.contains("backup")
    ));
    // A synced passkey, backed up: a valid assertion (no hardware key,
    // which the login decides from BE).
    a.backup_eligible = true;
    let synced = verify(&cred, &tap(&mut a, false)).unwrap();
    assert_eq!(
        synced.flags,
        FLAG_USER_PRESENT | FLAG_BACKUP_ELIGIBLE | FLAG_BACKUP_STATE
    );
}

#[test]
fn refuses_another_rp_id_or_challenge() {
    let mut a = SoftAuthenticator::from_seed(RP, b"rp");
    let cred = a.credential();
    let r = tap(&mut a, false);
    assert_eq!(
        verify_assertion(
            &cred,
            "evil.example.com",
            CHALLENGE,
            &r.authenticator_data,
            &r.signature
        ),
        Err(WebauthnError::WrongRpId("evil.example.com".into()))
    );
    assert_eq!(
        verify_assertion(
            &cred,
            RP,
            "pmfa1:prod3:root:q83vEjRWeJq83vEjRWeJqw",
            &r.authenticator_data,
            &r.signature
        ),
        Err(WebauthnError::SignatureInvalid)
    );
    // an authenticator for another rp, whose data names that rp
    let mut b = SoftAuthenticator::from_seed("evil.example.com", b"rp");
    let req = GetAssertionRequest {
        rp_id: "evil.example.com".into(),
        client_data_hash: client_data_hash(CHALLENGE, RP),
        allow_credentials: vec![],
        user_verification: false,
        pin_uv_auth: None,
    };
    let r = b
        .get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap();
    assert!(matches!(
        verify(&b.credential(), &r),
        Err(WebauthnError::WrongRpId(_))
    ));
}

#[test]
fn refuses_tampered_authenticator_data() {
    let mut a = SoftAuthenticator::from_seed(RP, b"tamper");
    let cred = a.credential();
    let r = tap(&mut a, false);
    for (i, bit) in [(32, FLAG_USER_VERIFIED), (36, 0x01), (33, 0x80), (0, 0x01)] {
        let mut ad = r.authenticator_data.clone();
        ad[i] ^= bit;
        let e = verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature).unwrap_err();
        assert!(
            matches!(
                e,
                WebauthnError::SignatureInvalid | WebauthnError::WrongRpId(_)
            ),
            "byte {i}: {e}"
        );
    }
    // flags that announce data which is not there, or data not announced
    let mut ad = r.authenticator_data.clone();
    ad[32] |= FLAG_EXTENSION_DATA;
    assert!(matches!(
        verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature),
        Err(WebauthnError::BadAuthenticatorData(_))
    ));
    let mut ad = r.authenticator_data.clone();
    ad.push(0);
    assert!(matches!(
        verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature),
        Err(WebauthnError::BadAuthenticatorData(_))
    ));
    let mut ad = r.authenticator_data.clone();
    ad[32] |= FLAG_ATTESTED_DATA;
    assert!(matches!(
        verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature),
        Err(WebauthnError::BadAuthenticatorData(_))
    ));
}

#[test]
fn refuses_truncated_authenticator_data() {
    let mut a = SoftAuthenticator::from_seed(RP, b"short");
    let cred = a.credential();
    let r = tap(&mut a, false);
    for n in [0, 32, 36] {
        let e = verify_assertion(
            &cred,
            RP,
            CHALLENGE,
            &r.authenticator_data[..n],
            &r.signature,
        )
        .unwrap_err();
        assert_eq!(e, WebauthnError::AuthenticatorDataTooShort(n));
        assert!(e.to_string().contains("too short"));
    }
}

#[test]
fn refuses_a_signature_by_another_credential() {
    let mut a = SoftAuthenticator::from_seed(RP, b"mine");
    let mut b = SoftAuthenticator::from_seed(RP, b"theirs");
    let r = tap(&mut b, false);
    assert_eq!(
        verify(&a.credential(), &r),
        Err(WebauthnError::SignatureInvalid)
    );
    let r = tap(&mut a, false);
    let mut sig = r.signature.clone();
    *sig.last_mut().unwrap() ^= 1;
    assert!(verify_assertion(&a.credential(), RP, CHALLENGE, &r.authenticator_data, &sig).is_err());
    assert!(matches!(
        verify_assertion(
            &a.credential(),
            RP,
            CHALLENGE,
            &r.authenticator_data,
            &[1, 2, 3]
        ),
        Err(WebauthnError::BadSignatureEncoding(_))
    ));
}
