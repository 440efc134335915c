use super::*;

#[test]
fn answer_lines() {
    let mut a = SoftAuthenticator::from_seed(RP, b"answer");
    let cred = a.credential();
    let r = tap(&mut a, true);
    let line = encode_answer(&r.credential_id, &r.authenticator_data, &r.signature);
    assert!(line.starts_with("wa1."));
    assert!(line.len() < 400, "{} bytes", line.len());
    let (selector, ad, sig) = decode_answer(&format!(" {line}\n")).unwrap();
    assert_eq!(selector, cred.selector());
    assert_eq!(selector[..], Sha256::digest(&cred.credential_id)[..8]);
    verify_assertion(&cred, RP, CHALLENGE, &ad, &sig).unwrap();
    // the longest ES256 form: 72-byte signature, a 64-byte credential id
    let longest = encode_answer(&[0xff; 64], &[0; 37], &[0; 72]);
    assert!(longest.len() < 400, "{}", longest.len());

    for (bad, words) in [
        ("", "not a WebAuthn answer"),
        ("sk1.AAAA.AAAA", "not a WebAuthn answer"),
        ("wa1.AAAA.AAAA", "four parts"),
        ("wa1.a.b.c.d", "four parts"),
        ("wa1.!!!!.AAAA.AAAA", "base64url"),
        ("wa1.AAAA.AAAA.AAAA", "8 bytes"),
    ] {
        let e = decode_answer(bad).unwrap_err();
        assert!(e.contains(words), "{bad}: {e}");
    }
    let short = encode_answer(&[1], &[0; 36], &[1]);
    assert!(decode_answer(&short).unwrap_err().contains("too short"));
    let no_sig = encode_answer(&[1], &[0; 37], &[]);
    assert!(decode_answer(&no_sig).unwrap_err().contains("empty"));
    assert!(decode_answer(&"wa1.".repeat(200))
        .unwrap_err()
        .contains("longer"));
}
