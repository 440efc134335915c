use super::*;

#[test]
fn refuses_malformed_cose_keys() {
    let mut a = SoftAuthenticator::from_seed(RP, b"cose");
    let r = tap(&mut a, false);
    let good = a.public_key_cose();
    let mut off_curve = good.clone();
    let n = off_curve.len();
    off_curve[n - 1] ^= 1; // y no longer on the curve
    let mut wrong_alg = good.clone();
    // canonical COSE_Key: {1: 2, 3: -7, -1: 1, -2: x, -3: y}
    assert_eq!(
        good[..10],
        [0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]
    );
    wrong_alg[4] = 0x38; // -25: ECDH-ES, not a signature algorithm
    for bad in [
        vec![],
        vec![0xa0],
        vec![0x01],
        good[..good.len() - 3].to_vec(),
        off_curve,
        wrong_alg,
    ] {
        let cred = WebauthnCredential {
            credential_id: a.credential_id().to_vec(),
            public_key_cose: bad.clone(),
        };
        let e = verify(&cred, &r).unwrap_err();
        assert!(
            matches!(e, WebauthnError::BadPublicKey(_)),
            "{bad:02x?}: {e}"
        );
        assert!(e.to_string().contains("COSE_Key"));
        let spec = serde_json::json!({
            "credential_id": STANDARD.encode(a.credential_id()),
            "public_key_cbor": STANDARD.encode(&bad),
        });
        assert!(WebauthnCredential::from_device_spec(&spec).is_err());
    }
}

#[test]
fn device_spec_errors() {
    let a = SoftAuthenticator::from_seed(RP, b"spec");
    let key = STANDARD.encode(a.public_key_cose());
    for (spec, words) in [
        (serde_json::json!("x"), "not an object"),
        (
            serde_json::json!({"webauthn": {"public_key_cbor": key}}),
            "credential_id is missing",
        ),
        (
            serde_json::json!({"credential_id": 5, "public_key_cbor": key}),
            "not a string",
        ),
        (
            serde_json::json!({"credential_id": "!!", "public_key_cbor": key}),
            "not base64",
        ),
        (
            serde_json::json!({"credential_id": "", "public_key_cbor": key}),
            "empty",
        ),
    ] {
        let e = WebauthnCredential::from_device_spec(&spec)
            .unwrap_err()
            .to_string();
        assert!(e.contains(words), "{spec}: {e}");
    }
    // unpadded and base64url forms are read too
    let cred = a.credential();
    let spec = serde_json::json!({
        "credential_id": URL_SAFE_NO_PAD.encode(&cred.credential_id),
        "public_key_cbor": STANDARD_NO_PAD.encode(&cred.public_key_cose),
        "signature_counter": 7,
    });
    assert_eq!(WebauthnCredential::from_device_spec(&spec).unwrap(), cred);
}

#[test]
fn ed25519_credentials() {
    use ed25519_dalek::Signer as _;
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let mut m = std::collections::BTreeMap::new();
    use serde_cbor_2::Value;
    m.insert(Value::Integer(1), Value::Integer(1));
    m.insert(Value::Integer(3), Value::Integer(-8));
    m.insert(Value::Integer(-1), Value::Integer(6));
    m.insert(
        Value::Integer(-2),
        Value::Bytes(sk.verifying_key().to_bytes().to_vec()),
    );
    let cred = WebauthnCredential {
        credential_id: vec![1; 16],
        public_key_cose: serde_cbor_2::to_vec(&Value::Map(m)).unwrap(),
    };
    let mut ad = Sha256::digest(RP.as_bytes()).to_vec();
    ad.push(FLAG_USER_PRESENT | FLAG_USER_VERIFIED);
    ad.extend_from_slice(&9u32.to_be_bytes());
    let mut signed = ad.clone();
    signed.extend_from_slice(&client_data_hash(CHALLENGE, RP));
    let sig = sk.sign(&signed).to_bytes();
    let v = verify_assertion(&cred, RP, CHALLENGE, &ad, &sig).unwrap();
    assert_eq!((v.flags, v.counter), (0x05, 9));
    assert_eq!(
        verify_assertion(&cred, RP, "pmfa1:x:y:z", &ad, &sig),
        Err(WebauthnError::SignatureInvalid)
    );
    assert!(matches!(
        verify_assertion(&cred, RP, CHALLENGE, &ad, &sig[..63]),
        Err(WebauthnError::BadSignatureEncoding(_))
    ));
}
