//! The answer line `mfactl tap` prints for a WebAuthn tap.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::credential::credential_selector;
use super::{ANSWER_PREFIX, AUTHENTICATOR_DATA_MIN_LEN, SELECTOR_LEN};

/// Largest answer line accepted (PAM's PAM_MAX_RESP_SIZE).
const MAX_ANSWER: usize = 512;

/// The answer line for a WebAuthn tap:
/// `wa1.<b64url(first 8 bytes of SHA-256(credential_id))>.<b64url(authenticator_data)>.<b64url(signature)>`
/// (about 165 bytes for ES256).
pub fn encode_answer(credential_id: &[u8], authenticator_data: &[u8], signature: &[u8]) -> String {
    format!(
        "{ANSWER_PREFIX}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(credential_selector(credential_id)),
        URL_SAFE_NO_PAD.encode(authenticator_data),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A decoded answer line: (credential selector, authenticator data, signature).
pub type DecodedAnswer = ([u8; SELECTOR_LEN], Vec<u8>, Vec<u8>);

/// Parses an answer line made by [`encode_answer`]: the credential selector,
/// the authenticator data and the signature. Errors say what is wrong
/// without echoing the answer.
pub fn decode_answer(text: &str) -> Result<DecodedAnswer, String> {
    let text = text.trim();
    if text.len() > MAX_ANSWER {
        return Err(format!("the answer is longer than {MAX_ANSWER} bytes"));
    }
    let mut parts = text.split('.');
    if parts.next() != Some(ANSWER_PREFIX) {
        return Err(format!(
            "this is not a WebAuthn answer (it should start with {ANSWER_PREFIX}.)"
        ));
    }
    let (Some(sel), Some(ad), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "a WebAuthn answer has four parts: {ANSWER_PREFIX}.<credential>.<authenticator data>.<signature>"
        ));
    };
    let sel = URL_SAFE_NO_PAD
        .decode(sel)
        .map_err(|_| "the credential part is not base64url".to_string())?;
    let selector: [u8; SELECTOR_LEN] = sel
        .try_into()
        .map_err(|_| format!("the credential part is not {SELECTOR_LEN} bytes"))?;
    let authenticator_data = URL_SAFE_NO_PAD
        .decode(ad)
        .map_err(|_| "the authenticator data part is not base64url".to_string())?;
    if authenticator_data.len() < AUTHENTICATOR_DATA_MIN_LEN {
        return Err("the authenticator data is too short".into());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "the signature part is not base64url".to_string())?;
    if signature.is_empty() {
        return Err("the signature is empty".into());
    }
    Ok((selector, authenticator_data, signature))
}
