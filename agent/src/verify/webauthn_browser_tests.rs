//! Browser answers: every form round-trips and verifies, fits PAM's 512
//! bytes in the worst cases, and what is not the browser's is refused.

use std::time::{Duration, Instant};

use super::*;
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::{Authenticator, GetAssertionRequest, GetAssertionResponse};

const RP: &str = "example.test";
const ORIGIN: &str = "https://approve.example.test";
const CHALLENGE: &str = "pmfa1:prod3:jerry:q83vEjRWeJq83vEjRWeJqw";

fn challenge_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// Chrome's clientDataJSON, with or without its extra member.
fn chrome_client_data(origin: &str, long: bool) -> String {
    let mut cd = template_prefix(CHALLENGE, origin);
    cd.push_str(if long { CHROME_EXTRA_MEMBER } else { "}" });
    cd
}

fn sign(a: &mut SoftAuthenticator, client_data: &str) -> GetAssertionResponse {
    let req = GetAssertionRequest {
        rp_id: RP.into(),
        client_data_hash: Sha256::digest(client_data.as_bytes()).into(),
        allow_credentials: vec![a.credential_id().to_vec()],
        user_verification: false,
        pin_uv_auth: None,
    };
    a.get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap()
}

fn answer_for(a: &mut SoftAuthenticator, client_data: &str, page_origin: &str) -> String {
    let r = sign(a, client_data);
    encode_browser_answer(
        &r.credential_id,
        &r.authenticator_data,
        &r.signature,
        client_data.as_bytes(),
        CHALLENGE,
        page_origin,
    )
}

fn form_of(line: &str) -> &str {
    line.split('.').nth(5).unwrap()
}

#[test]
fn chrome_forms_verify_and_fit() {
    let mut a = SoftAuthenticator::from_seed(RP, b"browser-forms");
    let cred = a.credential();
    for (long, form) in [(false, "t"), (true, "c")] {
        let cd = chrome_client_data(ORIGIN, long);
        let line = answer_for(&mut a, &cd, ORIGIN);
        assert_eq!(form_of(&line), form, "{line}");
        assert!(line.len() <= 200, "{} bytes: {line}", line.len());
        let parsed = decode_browser_answer(&line).unwrap();
        assert_eq!(parsed.selector, cred.selector());
        assert_eq!(parsed.client_data.rebuild(CHALLENGE, ORIGIN), cd.as_bytes());
        let v = verify_browser_answer(&cred, RP, ORIGIN, CHALLENGE, &parsed).unwrap();
        assert!(v.user_present());
    }
}

#[test]
fn other_browsers_forms_verify() {
    let mut a = SoftAuthenticator::from_seed(RP, b"browser-other");
    let cred = a.credential();
    let c = challenge_b64(CHALLENGE);
    // an unknown extra member: after the template, compressed or not
    let extra = format!(
        "{}{}",
        template_prefix(CHALLENGE, ORIGIN),
        r#","some_future_member":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#
    );
    // another member order: sent whole
    let reordered = format!(
        r#"{{"challenge":"{c}","origin":"{ORIGIN}","type":"webauthn.get","crossOrigin":false}}"#
    );
    for (cd, forms) in [(extra, ["t", "tz"]), (reordered, ["w", "wz"])] {
        let line = answer_for(&mut a, &cd, ORIGIN);
        assert!(forms.contains(&form_of(&line)), "{line}");
        assert!(line.len() <= crate::challenge::MAX_ANSWER);
        let parsed = decode_browser_answer(&line).unwrap();
        verify_browser_answer(&cred, RP, ORIGIN, CHALLENGE, &parsed).unwrap();
    }
}

#[test]
fn the_longest_signature_with_chromes_member_fits_pam() {
    // RS256 (Windows Hello): a 256-byte signature; a 64-byte credential id
    // is only hashed into the selector.
    let cd = chrome_client_data(
        "https://a-rather-long-approval-host.teleport.example.com",
        true,
    );
    let line = encode_browser_answer(
        &[0xff; 64],
        &[0; 37],
        &[0x30; 256],
        cd.as_bytes(),
        CHALLENGE,
        "https://a-rather-long-approval-host.teleport.example.com",
    );
    assert_eq!(form_of(&line), "c");
    assert!(line.len() <= crate::challenge::MAX_ANSWER, "{}", line.len());
}

#[test]
fn refuses_another_origin_challenge_or_type() {
    let mut a = SoftAuthenticator::from_seed(RP, b"browser-refuse");
    let cred = a.credential();
    let evil = "https://evil.example.test";
    // made on another origin, template form: the tag says so
    let line = answer_for(&mut a, &chrome_client_data(evil, false), evil);
    let e = verify_browser_answer(
        &cred,
        RP,
        ORIGIN,
        CHALLENGE,
        &decode_browser_answer(&line).unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("another origin"), "{e}");
    // a forged tag does not help: the rebuilt bytes are not what was signed
    let parts: Vec<&str> = line.split('.').collect();
    let tag = URL_SAFE_NO_PAD.encode(origin_tag(ORIGIN));
    let forged = [&parts[..4], &[tag.as_str()], &parts[5..]]
        .concat()
        .join(".");
    let e = verify_browser_answer(
        &cred,
        RP,
        ORIGIN,
        CHALLENGE,
        &decode_browser_answer(&forged).unwrap(),
    )
    .unwrap_err();
    assert_eq!(e, WebauthnError::SignatureInvalid);
    // made on another origin, whole form: the JSON check names it
    let c = challenge_b64(CHALLENGE);
    let whole = format!(r#"{{"origin":"{evil}","challenge":"{c}","type":"webauthn.get"}}"#);
    let line = answer_for(&mut a, &whole, evil);
    let e = verify_browser_answer(
        &cred,
        RP,
        ORIGIN,
        CHALLENGE,
        &decode_browser_answer(&line).unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not allowed"), "{e}");
    // another challenge
    let line = answer_for(&mut a, &chrome_client_data(ORIGIN, false), ORIGIN);
    let parsed = decode_browser_answer(&line).unwrap();
    assert!(verify_browser_answer(
        &cred,
        RP,
        ORIGIN,
        "pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA",
        &parsed
    )
    .is_err());
    // a registration's clientDataJSON
    let create = format!(
        r#"{{"type":"webauthn.create","challenge":"{c}","origin":"{ORIGIN}","crossOrigin":false}}"#
    );
    let line = answer_for(&mut a, &create, ORIGIN);
    let e = verify_browser_answer(
        &cred,
        RP,
        ORIGIN,
        CHALLENGE,
        &decode_browser_answer(&line).unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("webauthn.get"), "{e}");
}

#[test]
fn decoding_errors_and_the_inflate_cap() {
    let ok_head = "wb1.AQIDBAUGBwg.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.MEQ.AAAAAA";
    for (bad, words) in [
        ("wb1.a.b", "seven parts"),
        ("wa1.a.b.c.d.e.f", "not a browser answer"),
        ("wb1.!!.AAAA.AAAA.AAAAAA.t.fQ", "base64url"),
        ("wb1.AQID.AAAA.AAAA.AAAAAA.t.fQ", "not 8 bytes"),
        ("wb1.AQIDBAUGBwg.AAAA.AAAA.AAAAAA.t.fQ", "too short"),
    ] {
        let e = decode_browser_answer(bad).unwrap_err();
        assert!(e.contains(words), "{bad}: {e}");
    }
    for (tail, words) in [
        ("x.fQ", "unknown client data form"),
        ("c.fQ", "carries no data"),
        ("tz.fQ", "not deflate-raw"),
        ("wz.%%", "base64url"),
    ] {
        let e = decode_browser_answer(&format!("{ok_head}.{tail}")).unwrap_err();
        assert!(e.contains(words), "{tail}: {e}");
    }
    // 100 KiB of zeros deflate to ~100 bytes: refused at the cap, not inflated
    let bomb = miniz_oxide::deflate::compress_to_vec(&vec![0u8; 100 * 1024], 9);
    assert!(bomb.len() < 300, "{}", bomb.len());
    let line = format!("{ok_head}.wz.{}", URL_SAFE_NO_PAD.encode(&bomb));
    let e = decode_browser_answer(&line).unwrap_err();
    assert!(e.contains("more than 1024 bytes"), "{e}");
    // uncompressed data longer than the cap cannot fit the line anyway, but
    // a decoded form over the cap is refused by size
    let big = miniz_oxide::deflate::compress_to_vec(&vec![b'a'; MAX_CLIENT_DATA + 1], 9);
    let line = format!("{ok_head}.tz.{}", URL_SAFE_NO_PAD.encode(&big));
    assert!(decode_browser_answer(&line).is_err());
}
