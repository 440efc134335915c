//! Checks that a certificate was signed by a given public key: RSA PKCS#1 v1.5
//! and ECDSA (P-256, P-384) with SHA-256/384/512, the algorithms of YubiKey
//! attestation chains and Yubico's roots. Verify only.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1v15;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::SubjectPublicKeyInfo;

const RSA_KEY: &str = "1.2.840.113549.1.1.1";
const EC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

fn hash(h: Hash, data: &[u8]) -> Vec<u8> {
    match h {
        Hash::Sha256 => Sha256::digest(data).to_vec(),
        Hash::Sha384 => Sha384::digest(data).to_vec(),
        Hash::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// Whether `cert` carries a valid signature by `issuer`'s key.
pub(crate) fn verify_signed_by(
    cert: &X509Certificate<'_>,
    issuer: &SubjectPublicKeyInfo<'_>,
) -> Result<(), String> {
    let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
    let tbs = cert.tbs_certificate.as_ref();
    let sig = cert.signature_value.data.as_ref();
    let key_oid = issuer.algorithm.algorithm.to_id_string();
    let (is_rsa, h) = match sig_oid.as_str() {
        "1.2.840.113549.1.1.11" => (true, Hash::Sha256),
        "1.2.840.113549.1.1.12" => (true, Hash::Sha384),
        "1.2.840.113549.1.1.13" => (true, Hash::Sha512),
        "1.2.840.10045.4.3.2" => (false, Hash::Sha256),
        "1.2.840.10045.4.3.3" => (false, Hash::Sha384),
        "1.2.840.10045.4.3.4" => (false, Hash::Sha512),
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    if is_rsa {
        if key_oid != RSA_KEY {
            return Err("RSA signature, but the issuer's key is not RSA".into());
        }
        let key = rsa::RsaPublicKey::from_public_key_der(issuer.raw)
            .map_err(|e| format!("issuer RSA key: {e}"))?;
        let sig = pkcs1v15::Signature::try_from(sig).map_err(|_| "malformed RSA signature")?;
        let ok = match h {
            Hash::Sha256 => pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(tbs, &sig),
            Hash::Sha384 => pkcs1v15::VerifyingKey::<Sha384>::new(key).verify(tbs, &sig),
            Hash::Sha512 => pkcs1v15::VerifyingKey::<Sha512>::new(key).verify(tbs, &sig),
        };
        return ok.map_err(|_| "bad RSA signature".to_owned());
    }
    if key_oid != EC_KEY {
        return Err("ECDSA signature, but the issuer's key is not an EC key".into());
    }
    let curve = issuer
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string())
        .unwrap_or_default();
    let point = issuer.subject_public_key.data.as_ref();
    let digest = hash(h, tbs);
    let ok = match curve.as_str() {
        P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| "issuer P-256 key is malformed")?;
            let sig =
                p256::ecdsa::Signature::from_der(sig).map_err(|_| "malformed ECDSA signature")?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| "issuer P-384 key is malformed")?;
            let sig =
                p384::ecdsa::Signature::from_der(sig).map_err(|_| "malformed ECDSA signature")?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        other => return Err(format!("unsupported EC curve {other:?}")),
    };
    if ok {
        Ok(())
    } else {
        Err("bad ECDSA signature".into())
    }
}
