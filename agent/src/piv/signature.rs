//! Checks that a certificate was signed by a given public key: RSA PKCS#1 v1.5
//! and ECDSA (P-256, P-384) with SHA-256/384/512, the algorithms of YubiKey
//! attestation chains and Yubico's roots. Verify only.

use rsa::pkcs1v15;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::SubjectPublicKeyInfo;

const RSA_KEY: &str = "1.2.840.113549.1.1.1";
const EC_KEY: &str = "1.2.840.10045.2.1";

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
    let key = super::ec_key::EcKey::from_spki(issuer).map_err(|e| format!("issuer: {e}"))?;
    let ok = key
        .verify_prehash(&hash(h, tbs), sig)
        .map_err(|e| format!("issuer: {e}"))?;
    if ok {
        Ok(())
    } else {
        Err("bad ECDSA signature".into())
    }
}
