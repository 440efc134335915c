//! ECDSA public keys of PIV cards and their attestation chains (P-256,
//! P-384): the curve read from a SubjectPublicKeyInfo, and one prehash
//! signature check that the chain, the agent's tap verifiers and the local
//! tap share.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

const EC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

/// The curves PIV keys and YubiKey attestation chains use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    P256,
    P384,
}

impl EcCurve {
    /// The digest a signature by this curve's keys takes: SHA-256 or SHA-384.
    pub fn digest_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
        }
    }
}

/// An EC public key: its curve and SEC1 point, borrowed from an SPKI.
#[derive(Debug, Clone, Copy)]
pub struct EcKey<'a> {
    pub curve: EcCurve,
    pub point: &'a [u8],
}

impl<'a> EcKey<'a> {
    /// The key of a parsed SubjectPublicKeyInfo; an RSA key or another curve
    /// is an error naming it.
    pub fn from_spki(spki: &'a SubjectPublicKeyInfo<'_>) -> Result<EcKey<'a>, String> {
        let alg = spki.algorithm.algorithm.to_id_string();
        if alg != EC_KEY {
            return Err(format!("the key is not an EC key ({alg})"));
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string())
            .unwrap_or_default();
        let curve = match curve.as_str() {
            P256 => EcCurve::P256,
            P384 => EcCurve::P384,
            other => return Err(format!("the EC curve {other:?} is not P-256 or P-384")),
        };
        Ok(EcKey {
            curve,
            point: spki.subject_public_key.data.as_ref(),
        })
    }

    /// Whether `signature` (DER ECDSA) by this key signs `digest` (already
    /// hashed, [`EcCurve::digest_len`] bytes for a tap). A malformed key or
    /// signature is an error; a signature that does not verify is `Ok(false)`.
    pub fn verify_prehash(&self, digest: &[u8], signature: &[u8]) -> Result<bool, String> {
        const BAD_SIG: &str = "the signature is not a DER ECDSA signature";
        Ok(match self.curve {
            EcCurve::P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(self.point)
                    .map_err(|_| "the P-256 public key is malformed")?;
                let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| BAD_SIG)?;
                key.verify_prehash(digest, &sig).is_ok()
            }
            EcCurve::P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(self.point)
                    .map_err(|_| "the P-384 public key is malformed")?;
                let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| BAD_SIG)?;
                key.verify_prehash(digest, &sig).is_ok()
            }
        })
    }
}

/// Parses a DER SubjectPublicKeyInfo with nothing after it.
pub fn parse_spki(spki_der: &[u8]) -> Result<SubjectPublicKeyInfo<'_>, String> {
    let (rest, spki) = SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|_| "the public key does not parse".to_string())?;
    if !rest.is_empty() {
        return Err("the public key has trailing data".into());
    }
    Ok(spki)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    fn p256_spki(sk: &p256::ecdsa::SigningKey) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        der.extend_from_slice(sk.verifying_key().to_encoded_point(false).as_bytes());
        der
    }

    #[test]
    fn p256_prehash_signatures_verify_and_others_do_not() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let der = p256_spki(&sk);
        let spki = parse_spki(&der).unwrap();
        let key = EcKey::from_spki(&spki).unwrap();
        assert_eq!(key.curve, EcCurve::P256);
        let digest = [0x5au8; 32];
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&digest).unwrap();
        let sig = sig.to_der();
        assert_eq!(key.verify_prehash(&digest, sig.as_bytes()), Ok(true));
        assert_eq!(key.verify_prehash(&[0u8; 32], sig.as_bytes()), Ok(false));
        assert!(key.verify_prehash(&digest, b"\x30\x00").is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(parse_spki(&trailing).is_err());
    }
}
