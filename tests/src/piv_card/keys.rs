//! Key slots: EC P-256/P-384 key pairs with the PIN and touch policy fixed when the
//! key was generated, as a YubiKey keeps them.

use super::der;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::signature::Signer;
use sha2::{Digest, Sha256};

/// PIV algorithm identifiers (SP 800-78) the card supports for slot keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    EccP256,
    EccP384,
}

impl Algorithm {
    pub fn from_id(id: u8) -> Option<Algorithm> {
        match id {
            0x11 => Some(Algorithm::EccP256),
            0x14 => Some(Algorithm::EccP384),
            _ => None,
        }
    }
    pub fn id(self) -> u8 {
        match self {
            Algorithm::EccP256 => 0x11,
            Algorithm::EccP384 => 0x14,
        }
    }
    /// Length of a field element (and of the digest the card signs).
    pub fn field_len(self) -> usize {
        match self {
            Algorithm::EccP256 => 32,
            Algorithm::EccP384 => 48,
        }
    }
}

/// Yubico PIN policy (`AA` tag of GENERATE; byte 1 of the attestation policy extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinPolicy {
    Never = 1,
    Once = 2,
    Always = 3,
}

/// Yubico touch policy (`AB` tag of GENERATE; byte 2 of the attestation policy extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchPolicy {
    Never = 1,
    Always = 2,
    Cached = 3,
}

impl PinPolicy {
    /// From the GENERATE tag value; 0 means the slot's default.
    pub fn from_byte(b: u8, slot: u8) -> Option<PinPolicy> {
        match b {
            0 => Some(default_pin_policy(slot)),
            1 => Some(PinPolicy::Never),
            2 => Some(PinPolicy::Once),
            3 => Some(PinPolicy::Always),
            _ => None,
        }
    }
}

impl TouchPolicy {
    /// From the GENERATE tag value; 0 means the default (never).
    pub fn from_byte(b: u8) -> Option<TouchPolicy> {
        match b {
            0 | 1 => Some(TouchPolicy::Never),
            2 => Some(TouchPolicy::Always),
            3 => Some(TouchPolicy::Cached),
            _ => None,
        }
    }
}

/// A YubiKey's default PIN policy: 9c always, 9e never, the rest once.
pub fn default_pin_policy(slot: u8) -> PinPolicy {
    match slot {
        0x9C => PinPolicy::Always,
        0x9E => PinPolicy::Never,
        _ => PinPolicy::Once,
    }
}

/// True for the slots that hold asymmetric keys (9a, 9c, 9d, 9e, retired 82-95, f9).
pub fn is_key_slot(slot: u8) -> bool {
    matches!(slot, 0x9A | 0x9C | 0x9D | 0x9E | 0x82..=0x95 | 0xF9)
}

/// An EC key pair.
#[derive(Clone)]
pub enum KeyPair {
    P256(p256::SecretKey),
    P384(p384::SecretKey),
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({:?})", self.algorithm())
    }
}

impl KeyPair {
    /// A fresh key from the kernel's random generator.
    pub fn generate(alg: Algorithm) -> KeyPair {
        loop {
            let bytes = random_bytes(alg.field_len());
            if let Some(k) = KeyPair::from_scalar(alg, &bytes) {
                return k;
            }
        }
    }

    /// A key derived from `seed` (same seed, same key): for test CAs.
    pub fn from_seed(alg: Algorithm, seed: &[u8]) -> KeyPair {
        let mut counter = 0u32;
        loop {
            let mut bytes = Vec::new();
            while bytes.len() < alg.field_len() {
                let mut h = Sha256::new();
                h.update(seed);
                h.update(counter.to_be_bytes());
                h.update((bytes.len() as u32).to_be_bytes());
                bytes.extend_from_slice(&h.finalize());
            }
            bytes.truncate(alg.field_len());
            if let Some(k) = KeyPair::from_scalar(alg, &bytes) {
                return k;
            }
            counter += 1;
        }
    }

    fn from_scalar(alg: Algorithm, bytes: &[u8]) -> Option<KeyPair> {
        match alg {
            Algorithm::EccP256 => p256::SecretKey::from_slice(bytes).ok().map(KeyPair::P256),
            Algorithm::EccP384 => p384::SecretKey::from_slice(bytes).ok().map(KeyPair::P384),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            KeyPair::P256(_) => Algorithm::EccP256,
            KeyPair::P384(_) => Algorithm::EccP384,
        }
    }

    /// The uncompressed public point `04 || X || Y`.
    pub fn public_point(&self) -> Vec<u8> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        match self {
            KeyPair::P256(k) => k.public_key().to_encoded_point(false).as_bytes().to_vec(),
            KeyPair::P384(k) => k.public_key().to_encoded_point(false).as_bytes().to_vec(),
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Vec<u8> {
        let curve = match self {
            KeyPair::P256(_) => "1.2.840.10045.3.1.7",
            KeyPair::P384(_) => "1.3.132.0.34",
        };
        der::seq(&[
            &der::seq(&[&der::oid("1.2.840.10045.2.1"), &der::oid(curve)]),
            &der::bits(&self.public_point()),
        ])
    }

    /// ECDSA over a digest the host computed (GENERAL AUTHENTICATE), DER-encoded.
    /// A digest shorter than the field is left-padded with zeros, as a YubiKey does.
    pub fn sign_digest(&self, digest: &[u8]) -> Option<Vec<u8>> {
        let len = self.algorithm().field_len();
        if digest.is_empty() || digest.len() > len {
            return None;
        }
        let mut padded = vec![0u8; len - digest.len()];
        padded.extend_from_slice(digest);
        match self {
            KeyPair::P256(k) => {
                let sk = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature = sk.sign_prehash(&padded).ok()?;
                Some(sig.to_der().as_bytes().to_vec())
            }
            KeyPair::P384(k) => {
                let sk = p384::ecdsa::SigningKey::from(k);
                let sig: p384::ecdsa::Signature = sk.sign_prehash(&padded).ok()?;
                Some(sig.to_der().as_bytes().to_vec())
            }
        }
    }

    /// ECDSA with SHA-256 (P-256) or SHA-384 (P-384) over `msg`, for certificates:
    /// (signature algorithm OID, DER signature).
    pub fn sign_message(&self, msg: &[u8]) -> (&'static str, Vec<u8>) {
        match self {
            KeyPair::P256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k).sign(msg);
                ("1.2.840.10045.4.3.2", sig.to_der().as_bytes().to_vec())
            }
            KeyPair::P384(k) => {
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k).sign(msg);
                ("1.2.840.10045.4.3.3", sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

/// Where a slot's key came from (GET METADATA tag 03).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Generated = 1,
    Imported = 2,
}

/// A key in a slot with its policies.
#[derive(Debug, Clone)]
pub struct SlotKey {
    pub key: KeyPair,
    pub pin: PinPolicy,
    pub touch: TouchPolicy,
    pub origin: Origin,
}

/// `n` bytes from the kernel's random generator.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        // SAFETY: buf has `n - filled` writable bytes from `filled`.
        let got = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), n - filled, 0) };
        assert!(got > 0, "getrandom: {}", std::io::Error::last_os_error());
        filled += got as usize;
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    #[test]
    fn digest_signatures_verify_and_seeded_keys_repeat() {
        let k = KeyPair::generate(Algorithm::EccP256);
        let digest = Sha256::digest(b"hello");
        let sig = k.sign_digest(&digest).unwrap();
        let KeyPair::P256(sk) = &k else {
            unreachable!()
        };
        let vk = p256::ecdsa::VerifyingKey::from(sk.public_key());
        let sig = p256::ecdsa::Signature::from_der(&sig).unwrap();
        vk.verify_prehash(&digest, &sig).unwrap();
        assert!(vk.verify_prehash(&Sha256::digest(b"other"), &sig).is_err());
        assert!(k.sign_digest(&[0u8; 33]).is_none());
        let a = KeyPair::from_seed(Algorithm::EccP384, b"seed");
        let b = KeyPair::from_seed(Algorithm::EccP384, b"seed");
        assert_eq!(a.public_point(), b.public_point());
        assert_eq!(a.public_point().len(), 97);
    }
}
