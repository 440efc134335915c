//! Tests of the WebAuthn verifier, against the software authenticator.

mod answers;
mod assertions;
mod client_data;
mod credentials;
mod origin;
mod u2f;

pub(super) use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
pub(super) use base64::Engine;
pub(super) use sha2::{Digest, Sha256};

pub(super) use super::*;
pub(super) use crate::fido2::soft::SoftAuthenticator;
pub(super) use crate::fido2::{Authenticator, GetAssertionRequest, GetAssertionResponse};
pub(super) use std::time::{Duration, Instant};

pub(super) const RP: &str = "teleport.example.com";
pub(super) const CHALLENGE: &str = "pmfa1:prod3:jerry:q83vEjRWeJq83vEjRWeJqw";

pub(super) fn tap(a: &mut SoftAuthenticator, uv: bool) -> GetAssertionResponse {
    let req = GetAssertionRequest {
        rp_id: RP.into(),
        client_data_hash: client_data_hash(CHALLENGE, RP),
        allow_credentials: vec![a.credential_id().to_vec()],
        user_verification: uv,
        pin_uv_auth: None,
    };
    a.get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap()
}

pub(super) fn verify(
    cred: &WebauthnCredential,
    r: &GetAssertionResponse,
) -> Result<WebauthnAssertion, WebauthnError> {
    verify_assertion(cred, RP, CHALLENGE, &r.authenticator_data, &r.signature)
}
