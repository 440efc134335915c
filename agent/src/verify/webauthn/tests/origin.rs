//! Teleport's origin rule (`lib/auth/webauthn` `validateOrigin` and its
//! test table), with the https scheme and the plain origin form required.

use super::*;

#[test]
fn teleports_origin_table() {
    // (origin, rp_id, allowed): Teleport's TestValidateOrigin cases.
    let teleport = [
        ("https://example.com:3080", "example.com", true),
        ("https://example.com", "example.com", true),
        ("https://teleport.example.com:3080", "example.com", true),
        ("", "example.com", false),
        ("/this/is/a/path", "example.com", false),
        ("https://someotherplace.com:3080", "example.com", false),
        (
            "https://teleport.someotherplace.com:3080",
            "example.com",
            false,
        ),
    ];
    // Stricter here: https only, scheme://host[:port] only, real labels.
    let ours = [
        ("http://example.com", "example.com", false),
        ("HTTPS://example.com", "example.com", false),
        ("https://evilexample.com", "example.com", false),
        ("https://example.com.evil.net", "example.com", false),
        ("https://a.b.example.com:443", "example.com", true),
        ("https://example.com/", "example.com", false),
        ("https://example.com:3080/path", "example.com", false),
        ("https://user@example.com", "example.com", false),
        ("https://example.com:", "example.com", false),
        ("https://example.com:0", "example.com", false),
        ("https://example.com:65536", "example.com", false),
        ("https://example.com:65535", "example.com", true),
        ("https://.example.com", "example.com", false),
        ("https://a..example.com", "example.com", false),
        ("https://example.com", "", false),
        ("https://[::1]:3080", "example.com", false),
    ];
    for (origin, rp_id, allowed) in teleport.into_iter().chain(ours) {
        let got = validate_origin(origin, rp_id);
        assert_eq!(got.is_ok(), allowed, "{origin:?} for {rp_id:?}: {got:?}");
        if let Err(e) = got {
            assert!(matches!(e, WebauthnError::BadOrigin(_)), "{e}");
        }
    }
}

/// A browser's clientDataJSON from an origin under the rp_id verifies; one
/// from elsewhere does not, whatever its signature.
#[test]
fn browser_assertions_follow_the_origin_rule() {
    let mut a = SoftAuthenticator::from_seed(RP, b"browser-origin");
    let cred = a.credential();
    let sign = |a: &mut SoftAuthenticator, origin: &str| {
        let cd = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
            URL_SAFE_NO_PAD.encode(Sha256::digest(CHALLENGE.as_bytes()))
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
        (cd, r)
    };
    for (origin, ok) in [
        ("https://teleport.example.com:3080", true),
        ("https://proxy.teleport.example.com", true),
        ("https://example.com", false),
        ("http://teleport.example.com", false),
    ] {
        let (cd, r) = sign(&mut a, origin);
        let got = verify_browser_assertion(
            &cred,
            RP,
            RP,
            CHALLENGE,
            cd.as_bytes(),
            &r.authenticator_data,
            &r.signature,
        );
        assert_eq!(got.is_ok(), ok, "{origin}: {got:?}");
    }
}
