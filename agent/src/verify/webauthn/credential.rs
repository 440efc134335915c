//! The registered credential: its id, its COSE public key, its selector.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::cose_key::PublicKey;
use super::{WebauthnError, SELECTOR_LEN};

/// The registered credential, from Teleport's mfa_device `spec.webauthn`
/// (credential_id: base64 std; public_key_cbor: base64 std of a COSE_Key;
/// signature_counter optional, not read here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCredential {
    pub credential_id: Vec<u8>,
    pub public_key_cose: Vec<u8>,
}

impl WebauthnCredential {
    /// Reads a credential from an `mfa_device` spec: either the whole `spec`
    /// (with a `webauthn` object inside) or the `spec.webauthn` object itself.
    /// `credential_id` and `public_key_cbor` are base64 (standard alphabet,
    /// padded or not; base64url is accepted too). The COSE key is parsed
    /// now, so a bundle with a key this agent cannot use is refused at load.
    pub fn from_device_spec(spec: &serde_json::Value) -> Result<Self, WebauthnError> {
        let wa = match spec.get("webauthn") {
            Some(inner) => inner,
            None => spec,
        };
        if !wa.is_object() {
            return Err(WebauthnError::BadCredential(
                "spec.webauthn is not an object".into(),
            ));
        }
        let field = |name: &str| -> Result<Vec<u8>, WebauthnError> {
            let text = wa
                .get(name)
                .ok_or_else(|| {
                    WebauthnError::BadCredential(format!("spec.webauthn.{name} is missing"))
                })?
                .as_str()
                .ok_or_else(|| {
                    WebauthnError::BadCredential(format!("spec.webauthn.{name} is not a string"))
                })?;
            let bytes = decode_b64_lenient(text.trim()).ok_or_else(|| {
                WebauthnError::BadCredential(format!("spec.webauthn.{name} is not base64"))
            })?;
            if bytes.is_empty() {
                return Err(WebauthnError::BadCredential(format!(
                    "spec.webauthn.{name} is empty"
                )));
            }
            Ok(bytes)
        };
        let cred = WebauthnCredential {
            credential_id: field("credential_id")?,
            public_key_cose: field("public_key_cbor")?,
        };
        PublicKey::parse(&cred.public_key_cose)?;
        Ok(cred)
    }

    /// A credential from its id and COSE_Key; the key is parsed now, so a
    /// key this agent cannot use is refused here.
    pub fn new(credential_id: Vec<u8>, public_key_cose: Vec<u8>) -> Result<Self, WebauthnError> {
        if credential_id.is_empty() {
            return Err(WebauthnError::BadCredential(
                "the credential id is empty".into(),
            ));
        }
        PublicKey::parse(&public_key_cose)?;
        Ok(WebauthnCredential {
            credential_id,
            public_key_cose,
        })
    }

    /// The 8-byte selector that names this credential in an answer line.
    pub fn selector(&self) -> [u8; SELECTOR_LEN] {
        credential_selector(&self.credential_id)
    }
}

/// First 8 bytes of SHA-256(credential_id).
pub fn credential_selector(credential_id: &[u8]) -> [u8; SELECTOR_LEN] {
    let digest = Sha256::digest(credential_id);
    let mut out = [0u8; SELECTOR_LEN];
    out.copy_from_slice(&digest[..SELECTOR_LEN]);
    out
}

/// Base64 as tctl and hand-written documents carry it: standard alphabet,
/// padded or not; base64url is accepted too.
pub fn decode_b64_lenient(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()
}
