use super::*;

#[test]
fn client_data_json_is_what_a_browser_builds() {
    // SHA-256("abc") = ba7816bf...f20015ad
    assert_eq!(
        client_data_json("abc", "example.com"),
        r#"{"type":"webauthn.get","challenge":"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0","origin":"https://example.com","crossOrigin":false}"#
    );
    assert_eq!(
        client_data_hash("abc", "example.com"),
        <[u8; 32]>::from(Sha256::digest(client_data_json("abc", "example.com")))
    );
    // an rp_id is a domain; anything else still makes valid JSON
    let odd: serde_json::Value = serde_json::from_str(&client_data_json("x", "a\"b")).unwrap();
    assert_eq!(odd["origin"], "https://a\"b");
}

#[test]
fn browser_client_data() {
    let mut a = SoftAuthenticator::from_seed(RP, b"browser");
    let cred = a.credential();
    let origin = format!("https://{RP}");
    // Chrome's form, with a key order and an extra member of its own
    let cd = format!(
        r#"{{"type":"webauthn.get","challenge":"{}","origin":"{origin}","crossOrigin":false,"other_keys_can_be_added_here":"x"}}"#,
        URL_SAFE_NO_PAD.encode(Sha256::digest(CHALLENGE.as_bytes()))
    );
    let req = GetAssertionRequest {
        rp_id: RP.into(),
        client_data_hash: Sha256::digest(cd.as_bytes()).into(),
        allow_credentials: vec![],
        user_verification: true,
        pin_uv_auth: None,
    };
    let r = a
        .get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap();
    let ok = verify_assertion_client_data(
        &cred,
        RP,
        &[&origin],
        CHALLENGE,
        cd.as_bytes(),
        &r.authenticator_data,
        &r.signature,
    )
    .unwrap();
    assert!(ok.user_verified());
    for (origins, challenge, words) in [
        (vec!["https://other.example"], CHALLENGE, "origin"),
        (vec![origin.as_str()], "pmfa1:a:b:c", "challenge"),
    ] {
        let e = verify_assertion_client_data(
            &cred,
            RP,
            &origins,
            challenge,
            cd.as_bytes(),
            &r.authenticator_data,
            &r.signature,
        )
        .unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
    let create = cd.replace("webauthn.get", "webauthn.create");
    assert!(verify_assertion_client_data(
        &cred,
        RP,
        &[&origin],
        CHALLENGE,
        create.as_bytes(),
        &r.authenticator_data,
        &r.signature
    )
    .is_err());
    // the CLI form does not verify a browser's signature and vice versa
    assert_eq!(verify(&cred, &r), Err(WebauthnError::SignatureInvalid));
}

/// go-webauthn's `CollectedClientData.Verify` (protocol/client.go) compares
/// the challenge exactly, and Teleport finds the session by that string: a
/// padded form of the right challenge is another challenge.
#[test]
fn browser_challenges_must_be_exact_and_unpadded() {
    let mut a = SoftAuthenticator::from_seed(RP, b"padded");
    let cred = a.credential();
    let origin = format!("https://{RP}");
    let want = URL_SAFE_NO_PAD.encode(Sha256::digest(CHALLENGE.as_bytes()));
    for (pad, accepted) in [("", true), ("=", false), ("==", false), ("=====", false)] {
        let cd = format!(
            r#"{{"type":"webauthn.get","challenge":"{want}{pad}","origin":"{origin}","crossOrigin":false}}"#
        );
        let req = GetAssertionRequest {
            rp_id: RP.into(),
            client_data_hash: Sha256::digest(cd.as_bytes()).into(),
            allow_credentials: vec![],
            user_verification: false,
            pin_uv_auth: None,
        };
        let r = a
            .get_assertion(&req, Instant::now() + Duration::from_secs(5))
            .unwrap();
        let got = verify_assertion_client_data(
            &cred,
            RP,
            &[&origin],
            CHALLENGE,
            cd.as_bytes(),
            &r.authenticator_data,
            &r.signature,
        );
        match got {
            Ok(_) => assert!(accepted, "{pad:?} accepted"),
            Err(e) => {
                assert!(!accepted, "{pad:?}: {e}");
                assert!(
                    e.to_string().contains("challenge is not the one issued"),
                    "{e}"
                );
            }
        }
    }
}
