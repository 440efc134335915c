//! Challenge answers: the text a person's `mfactl tap` (or a compromised
//! node relaying for it) sends back, and the signatures inside, checked
//! against registered keys. Text inputs go through `Answer::parse` and then
//! the verifier of their kind; binary inputs (first byte 1..=7) go straight
//! to one verifier, so the fuzzer can reach the signature and key decoders
//! without the base64url layer. The approval page's `wb1.` answers carry a
//! (possibly deflated) clientDataJSON: inflating stays under its cap.
//! Property: no panic, and nothing verifies
//! (the fuzzer holds none of the keys; the seeds sign another message).
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mfa_agent::challenge::Answer;
use mfa_agent::verify::piv_tap::{digest_len, verify_piv_tap};
use mfa_agent::verify::ssh_sk::verify_sk_signature;
use mfa_agent::verify::webauthn::{
    verify_assertion, verify_assertion_client_data, WebauthnCredential,
};
use mfa_agent::verify::webauthn_browser::verify_browser_answer;
use serde_cbor_2::Value;

const SK_ED25519: &str = include_str!("../testdata/sk_ed25519.pub");
const SK_ECDSA: &str = include_str!("../testdata/sk_ecdsa.pub");
const PIV_SPKI: &[u8] = include_bytes!("../testdata/piv_p256.spki.der");
const CHALLENGE: &str = "mfa1.fuzz-challenge";
const RP_ID: &str = "fuzz.example";
const ORIGIN: &str = "https://fuzz.example";

fn blob(line: &str) -> Vec<u8> {
    let b64 = line.split_whitespace().nth(1).expect("a public key line");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

struct Keys {
    sk: Vec<Vec<u8>>,
    webauthn: WebauthnCredential,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // The P-256 point is the SPKI's last 64 bytes (uncompressed, after 04).
        let point = &PIV_SPKI[PIV_SPKI.len() - 64..];
        let cose = Value::Map(
            [
                (Value::Integer(1), Value::Integer(2)),
                (Value::Integer(3), Value::Integer(-7)),
                (Value::Integer(-1), Value::Integer(1)),
                (Value::Integer(-2), Value::Bytes(point[..32].to_vec())),
                (Value::Integer(-3), Value::Bytes(point[32..].to_vec())),
            ]
            .into_iter()
            .collect(),
        );
        Keys {
            sk: vec![blob(SK_ED25519), blob(SK_ECDSA)],
            webauthn: WebauthnCredential {
                credential_id: b"fuzz-credential".to_vec(),
                public_key_cose: serde_cbor_2::to_vec(&cose).expect("COSE key"),
            },
        }
    })
}

fn check_parsed(answer: &Answer) {
    let k = keys();
    let verified = match answer {
        // Every registered key, not only the one the digest names.
        Answer::SshSk { signature, .. } => {
            k.sk.iter()
                .any(|key| verify_sk_signature(key, signature, CHALLENGE.as_bytes()).is_ok())
        }
        Answer::Webauthn {
            authenticator_data,
            signature,
            ..
        } => verify_assertion(&k.webauthn, RP_ID, CHALLENGE, authenticator_data, signature).is_ok(),
        // The approval page's form: inflated (capped) at parse, rebuilt here.
        Answer::Browser(b) => {
            verify_browser_answer(&k.webauthn, RP_ID, ORIGIN, CHALLENGE, b).is_ok()
        }
        Answer::Piv { signature, .. } => verify_piv_tap(PIV_SPKI, CHALLENGE, signature).is_ok(),
    };
    assert!(!verified, "a forged answer verified");
}

fn check_raw(mode: u8, rest: &[u8]) {
    let k = keys();
    let forged = match mode {
        1 => {
            k.sk.iter()
                .any(|key| verify_sk_signature(key, rest, CHALLENGE.as_bytes()).is_ok())
        }
        2 => verify_sk_signature(rest, rest, CHALLENGE.as_bytes()).is_ok(),
        3 => verify_piv_tap(PIV_SPKI, CHALLENGE, rest).is_ok(),
        4 => {
            let _ = digest_len(rest);
            verify_piv_tap(rest, CHALLENGE, rest).is_ok()
        }
        5 => {
            let Some((&n, rest)) = rest.split_first() else {
                return;
            };
            let (ad, sig) = rest.split_at((n as usize).min(rest.len()));
            verify_assertion(&k.webauthn, RP_ID, CHALLENGE, ad, sig).is_ok()
        }
        6 => {
            if let Ok(spec) = serde_json::from_slice::<serde_json::Value>(rest) {
                let _ = WebauthnCredential::from_device_spec(&spec);
            }
            let cred = WebauthnCredential {
                credential_id: b"c".to_vec(),
                public_key_cose: rest.to_vec(),
            };
            verify_assertion(&cred, RP_ID, CHALLENGE, &[0; 37], &[0; 70]).is_ok()
        }
        7 => {
            let origins = ["https://fuzz.example"];
            verify_assertion_client_data(
                &k.webauthn,
                RP_ID,
                &origins,
                CHALLENGE,
                rest,
                &[0; 37],
                &[0; 70],
            )
            .is_ok()
        }
        _ => false,
    };
    assert!(!forged, "a forged signature verified");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(answer) = Answer::parse(text) {
            check_parsed(&answer);
        }
    }
    if let Some((&mode, rest)) = data.split_first() {
        check_raw(mode, rest);
    }
});
