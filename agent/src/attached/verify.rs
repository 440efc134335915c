//! A PIV tap's signature, checked against the attested public key.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256, Sha384};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

const EC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

/// The digest a PIV key signs for `challenge`: SHA-256 for P-256 keys,
/// SHA-384 for P-384 (by the attested key, `spki_der`).
pub fn challenge_digest(spki_der: &[u8], challenge: &[u8]) -> Result<Vec<u8>, String> {
    match curve(spki_der)?.0.as_str() {
        P256 => Ok(Sha256::digest(challenge).to_vec()),
        P384 => Ok(Sha384::digest(challenge).to_vec()),
        other => Err(format!("PIV key curve {other} is not supported for taps")),
    }
}

/// Whether `signature` (DER ECDSA) by the attested key `spki_der` signs
/// `challenge` (hashed as [`challenge_digest`] says).
pub fn verify_piv_signature(
    spki_der: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let (curve, point) = curve(spki_der)?;
    let digest = challenge_digest(spki_der, challenge)?;
    let ok = match curve.as_str() {
        P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| "the attested P-256 key is malformed")?;
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| "malformed ECDSA signature")?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        _ => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| "the attested P-384 key is malformed")?;
            let sig = p384::ecdsa::Signature::from_der(signature)
                .map_err(|_| "malformed ECDSA signature")?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err("the card's signature does not verify against the attested key".into())
    }
}

fn curve(spki_der: &[u8]) -> Result<(String, Vec<u8>), String> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| format!("attested public key does not parse: {e}"))?;
    if spki.algorithm.algorithm.to_id_string() != EC_KEY {
        return Err("only ECDSA PIV keys can tap here".into());
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
        .unwrap_or_default();
    Ok((curve, spki.subject_public_key.data.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    /// SubjectPublicKeyInfo of a P-256 key: the fixed header, then the point.
    fn p256_spki(sk: &p256::ecdsa::SigningKey) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        der.extend_from_slice(sk.verifying_key().to_encoded_point(false).as_bytes());
        der
    }

    #[test]
    fn p256_signature_over_the_challenge() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let spki = p256_spki(&sk);
        let digest = challenge_digest(&spki, b"pmfa1:n:l:x").unwrap();
        assert_eq!(digest.len(), 32);
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let der = sig.to_der();
        verify_piv_signature(&spki, b"pmfa1:n:l:x", der.as_bytes()).unwrap();
        assert!(verify_piv_signature(&spki, b"pmfa1:n:l:y", der.as_bytes()).is_err());
        assert!(verify_piv_signature(&spki, b"pmfa1:n:l:x", b"\x30\x00").is_err());
    }
}
