//! CTAP2 responses (status byte, then CBOR) as a USB security key returns
//! them: getAssertion, makeCredential (then the registration checks `mfactl
//! enroll` runs on it), getInfo, and the COSE key of a keyAgreement. The
//! first byte picks the decoder. Property: no panic, no unbounded
//! allocation; a getAssertion answer never names a credential that was not
//! asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_agent::fido2::client_pin::{decode_info, parse_cose_key};
use mfa_agent::fido2::make_credential::decode_make_credential_response;
use mfa_agent::fido2::{decode_get_assertion_response, GetAssertionRequest, MakeCredentialRequest};
use mfa_agent::verify::webauthn_registration::{verify_registration, AttestationCas};

const RP_ID: &str = "fuzz.example";

fn assertion_request(allow: usize) -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: RP_ID.into(),
        client_data_hash: [7; 32],
        allow_credentials: (0..allow).map(|i| vec![i as u8 + 1; 16]).collect(),
        user_verification: allow == 2,
        pin_uv_auth: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            for allow in 0..3 {
                let req = assertion_request(allow);
                if let Ok(resp) = decode_get_assertion_response(rest, &req) {
                    assert!(
                        allow == 0 || req.allow_credentials.contains(&resp.credential_id),
                        "a credential that was not asked for"
                    );
                }
            }
        }
        1 => {
            let req = MakeCredentialRequest {
                rp_id: RP_ID.into(),
                client_data_hash: [7; 32],
                user_id: vec![1, 2, 3],
                user_name: "jerry".into(),
                user_verification: false,
                pin_uv_auth: None,
            };
            if let Ok(resp) = decode_make_credential_response(rest, &req) {
                let _ = verify_registration(&resp, RP_ID, &[7; 32], &AttestationCas::default());
            }
        }
        2 => {
            if let Ok(info) = decode_info(rest) {
                let _ = info.protocol();
                let _ = info.token_with_permissions();
            }
        }
        _ => {
            if let Ok(v) = serde_cbor_2::from_slice::<serde_cbor_2::Value>(rest) {
                let _ = parse_cose_key(&v);
            }
        }
    }
});
