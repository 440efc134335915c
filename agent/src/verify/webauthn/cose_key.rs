//! Registered public keys (COSE_Key): ES256, ES384 and RS256 through
//! webauthn-rs-core, EdDSA (Ed25519) with ed25519-dalek.

use webauthn_rs_core::proto::{COSEAlgorithm, COSEKey};

use super::WebauthnError;

/// Checks `signature` over `signed` with a COSE public key (self
/// attestation at registration).
pub(crate) fn verify_with_cose_key(
    cose: &[u8],
    signature: &[u8],
    signed: &[u8],
) -> Result<(), WebauthnError> {
    PublicKey::parse(cose)?.verify(signature, signed)
}

/// A parsed registered public key.
pub(super) enum PublicKey {
    /// ES256, ES384, RS256: parsed and checked by webauthn-rs-core.
    Cose(COSEKey),
    /// EdDSA with Ed25519 (COSE kty OKP, alg -8, crv 6).
    Ed25519(ed25519_dalek::VerifyingKey),
}

const COSE_KTY_OKP: i128 = 1;
const COSE_ALG_EDDSA: i128 = -8;
const COSE_CRV_ED25519: i128 = 6;

impl PublicKey {
    pub(super) fn parse(cose: &[u8]) -> Result<PublicKey, WebauthnError> {
        let value: serde_cbor_2::Value = serde_cbor_2::from_slice(cose)
            .map_err(|e| WebauthnError::BadPublicKey(format!("not CBOR: {e}")))?;
        let serde_cbor_2::Value::Map(map) = &value else {
            return Err(WebauthnError::BadPublicKey("not a CBOR map".into()));
        };
        let int = |k: i128| match map.get(&serde_cbor_2::Value::Integer(k)) {
            Some(serde_cbor_2::Value::Integer(v)) => Some(*v),
            _ => None,
        };
        if int(1) == Some(COSE_KTY_OKP) && int(3) == Some(COSE_ALG_EDDSA) {
            if int(-1) != Some(COSE_CRV_ED25519) {
                return Err(WebauthnError::BadPublicKey(
                    "EdDSA key on a curve other than Ed25519".into(),
                ));
            }
            let Some(serde_cbor_2::Value::Bytes(x)) = map.get(&serde_cbor_2::Value::Integer(-2))
            else {
                return Err(WebauthnError::BadPublicKey(
                    "Ed25519 key without its x coordinate".into(),
                ));
            };
            let x: [u8; 32] = x
                .as_slice()
                .try_into()
                .map_err(|_| WebauthnError::BadPublicKey("Ed25519 key is not 32 bytes".into()))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| {
                WebauthnError::BadPublicKey("Ed25519 key is not a curve point".into())
            })?;
            return Ok(PublicKey::Ed25519(key));
        }
        let key =
            COSEKey::try_from(&value).map_err(|e| WebauthnError::BadPublicKey(format!("{e:?}")))?;
        match key.type_ {
            COSEAlgorithm::ES256 | COSEAlgorithm::ES384 | COSEAlgorithm::RS256 => {
                Ok(PublicKey::Cose(key))
            }
            other => Err(WebauthnError::BadPublicKey(format!(
                "unsupported algorithm {other:?}"
            ))),
        }
    }

    pub(super) fn verify(&self, signature: &[u8], signed: &[u8]) -> Result<(), WebauthnError> {
        match self {
            PublicKey::Cose(key) => match key.verify_signature(signature, signed) {
                Ok(true) => Ok(()),
                Ok(false) => Err(WebauthnError::SignatureInvalid),
                // webauthn-rs-core reports an undecodable signature this way
                Err(webauthn_rs_core::error::WebauthnError::SignatureInvalid) => Err(
                    WebauthnError::BadSignatureEncoding(format!("not a {:?} signature", key.type_)),
                ),
                Err(e) => Err(WebauthnError::BadPublicKey(format!("{e:?}"))),
            },
            PublicKey::Ed25519(key) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| {
                    WebauthnError::BadSignatureEncoding("an Ed25519 signature is 64 bytes".into())
                })?;
                key.verify_strict(signed, &sig)
                    .map_err(|_| WebauthnError::SignatureInvalid)
            }
        }
    }
}
