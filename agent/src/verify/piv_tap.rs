//! PIV taps: what a PIV key signs to answer a challenge, and its check.
//!
//! The key signs a digest of [`DOMAIN`] followed by the challenge text
//! (`pmfa1:NODE:LOGIN:NONCE`): SHA-256 for a P-256 key, SHA-384 for P-384
//! (GENERAL AUTHENTICATE signs a prehashed digest). The domain prefix keeps a
//! tap signature from being anything else the key might be asked to sign.
//! Node and login are in the text; the agent binds service, rhost and tty by
//! accepting an answer only on the conversation that issued the challenge.
//!
//! The answer names the key by [`selector`]: the first 8 bytes of SHA-256 of
//! its SubjectPublicKeyInfo (the attested key's, in the registered chain).

use sha2::{Digest, Sha256, Sha384};

use crate::piv::ec_key::{parse_spki, EcKey};

/// What precedes the challenge text in the signed message.
pub const DOMAIN: &[u8] = b"pam-mfa piv tap v1\0";

/// The digest a key whose signatures take `len`-byte digests (32: P-256,
/// 48: P-384) signs for `challenge_text`.
pub fn tap_digest(challenge_text: &str, len: usize) -> Option<Vec<u8>> {
    let mut msg = DOMAIN.to_vec();
    msg.extend_from_slice(challenge_text.as_bytes());
    match len {
        32 => Some(Sha256::digest(&msg).to_vec()),
        48 => Some(Sha384::digest(&msg).to_vec()),
        _ => None,
    }
}

/// Which registered key an answer names: SHA-256 of the SPKI, first 8 bytes.
pub fn selector(spki_der: &[u8]) -> [u8; 8] {
    let h = Sha256::digest(spki_der);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h[..8]);
    out
}

/// [`selector`] from the SHA-256 of the SPKI (what an attestation keeps).
pub fn selector_of_hash(spki_sha256: &[u8; 32]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&spki_sha256[..8]);
    out
}

/// The digest length the key in `spki_der` signs (32 or 48).
pub fn digest_len(spki_der: &[u8]) -> Result<usize, String> {
    let spki = parse_spki(spki_der).map_err(|e| format!("the attested key: {e}"))?;
    Ok(EcKey::from_spki(&spki)
        .map_err(|e| format!("the attested key: {e} (PIV taps take P-256 or P-384)"))?
        .curve
        .digest_len())
}

/// Checks `signature` (DER ECDSA) by the key in `spki_der` over the tap
/// digest of `challenge_text`.
pub fn verify_piv_tap(
    spki_der: &[u8],
    challenge_text: &str,
    signature: &[u8],
) -> Result<(), String> {
    let spki = parse_spki(spki_der).map_err(|e| format!("the attested key: {e}"))?;
    let key = EcKey::from_spki(&spki)
        .map_err(|e| format!("the attested key: {e} (PIV taps take P-256 or P-384)"))?;
    let digest =
        tap_digest(challenge_text, key.curve.digest_len()).expect("32 and 48 are digest lengths");
    if key.verify_prehash(&digest, signature)? {
        Ok(())
    } else {
        Err("the signature does not verify with the registered key".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    /// A P-256 key's SPKI (DER), by hand: the fixed prefix and the point.
    pub(crate) fn p256_spki(key: &p256::ecdsa::SigningKey) -> Vec<u8> {
        let point = key.verifying_key().to_encoded_point(false);
        let mut out = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        out.extend_from_slice(point.as_bytes());
        out
    }

    fn sign(key: &p256::ecdsa::SigningKey, text: &str) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = key.sign_prehash(&tap_digest(text, 32).unwrap()).unwrap();
        sig.to_der().as_bytes().to_vec()
    }

    #[test]
    fn signs_and_verifies_only_that_challenge_with_that_key() {
        let key = p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
        let other = p256::ecdsa::SigningKey::from_bytes(&[8u8; 32].into()).unwrap();
        let spki = p256_spki(&key);
        assert_eq!(digest_len(&spki).unwrap(), 32);
        let text = "pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA";
        verify_piv_tap(&spki, text, &sign(&key, text)).unwrap();
        let e = verify_piv_tap(
            &spki,
            "pmfa1:prod3:jerry:BAAAAAAAAAAAAAAAAAAAAA",
            &sign(&key, text),
        )
        .unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        let e = verify_piv_tap(&spki, text, &sign(&other, text)).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        let e = verify_piv_tap(&spki, text, b"\x30\x02junk").unwrap_err();
        assert!(e.contains("DER"), "{e}");
        assert!(verify_piv_tap(b"not a key", text, &sign(&key, text)).is_err());
        // The plain SHA-256 of the text (no domain) is not a tap.
        let plain: p256::ecdsa::Signature =
            key.sign_prehash(&Sha256::digest(text.as_bytes())).unwrap();
        assert!(verify_piv_tap(&spki, text, plain.to_der().as_bytes()).is_err());
        assert_eq!(
            selector(&spki),
            selector_of_hash(&Sha256::digest(&spki).into())
        );
        assert_eq!(tap_digest(text, 48).unwrap().len(), 48);
        assert!(tap_digest(text, 20).is_none());
    }
}
