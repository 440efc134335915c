//! The PIN/UV auth protocols of CTAP 2.1 (§6.5.6 protocol 1, §6.5.7
//! protocol 2): the key agreement (P-256 ECDH, COSE keys), the shared
//! secret's KDF, encryption and the HMAC that authenticates; the PIN's hash.
//! Both sides use them: `client_pin` (the platform) and the software
//! authenticator.

use std::collections::BTreeMap;

use aes::Aes256;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey, SecretKey};
use serde_cbor_2::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::random::random;
use super::Fido2Error;

/// COSE algorithm of a key-agreement key: ECDH-ES+HKDF-256.
pub const COSE_ALG_ECDH_ES_HKDF_256: i128 = -25;

type HmacSha256 = Hmac<Sha256>;

/// A PIN/UV auth protocol (CTAP 2.1 §6.5.6 and §6.5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinProtocol {
    One,
    Two,
}

impl PinProtocol {
    pub fn number(self) -> u8 {
        match self {
            Self::One => 1,
            Self::Two => 2,
        }
    }

    pub fn from_number(n: i128) -> Option<PinProtocol> {
        match n {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            _ => None,
        }
    }

    /// The shared secret from the ECDH x-coordinate `z`: SHA-256(Z)
    /// (protocol 1), or HKDF-SHA-256 with a zero salt of "CTAP2 HMAC key"
    /// then "CTAP2 AES key" (protocol 2, 64 bytes).
    pub fn kdf(self, z: &[u8; 32]) -> Zeroizing<Vec<u8>> {
        match self {
            Self::One => Zeroizing::new(Sha256::digest(z).to_vec()),
            Self::Two => {
                let hk = hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), z);
                let mut out = Zeroizing::new(vec![0u8; 64]);
                hk.expand(b"CTAP2 HMAC key", &mut out[..32])
                    .expect("32 bytes is a valid HKDF length");
                hk.expand(b"CTAP2 AES key", &mut out[32..])
                    .expect("32 bytes is a valid HKDF length");
                out
            }
        }
    }

    /// The AES key within a shared secret.
    fn aes_key(self, secret: &[u8]) -> &[u8] {
        match self {
            Self::One => secret,
            Self::Two => &secret[32..],
        }
    }

    /// AES-256-CBC of whole blocks: zero IV (protocol 1), or `iv`
    /// prepended to the ciphertext (protocol 2).
    pub fn encrypt(self, secret: &[u8], plaintext: &[u8], iv: [u8; 16]) -> Vec<u8> {
        assert_eq!(plaintext.len() % 16, 0, "whole AES blocks only");
        let iv = match self {
            Self::One => [0u8; 16],
            Self::Two => iv,
        };
        let mut buf = plaintext.to_vec();
        let n = buf.len();
        cbc::Encryptor::<Aes256>::new_from_slices(self.aes_key(secret), &iv)
            .expect("32-byte key, 16-byte IV")
            .encrypt_padded_mut::<NoPadding>(&mut buf, n)
            .expect("whole blocks");
        match self {
            Self::One => buf,
            Self::Two => {
                let mut out = iv.to_vec();
                out.extend(buf);
                out
            }
        }
    }

    /// The inverse of [`Self::encrypt`].
    pub fn decrypt(self, secret: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let (iv, body) = match self {
            Self::One => ([0u8; 16], ciphertext),
            Self::Two => {
                if ciphertext.len() < 16 {
                    return Err("ciphertext shorter than its IV".into());
                }
                let (iv, body) = ciphertext.split_at(16);
                (iv.try_into().expect("16 bytes"), body)
            }
        };
        if body.is_empty() || body.len() % 16 != 0 {
            return Err(format!(
                "ciphertext of {} bytes is not whole AES blocks",
                body.len()
            ));
        }
        let mut buf = Zeroizing::new(body.to_vec());
        cbc::Decryptor::<Aes256>::new_from_slices(self.aes_key(secret), &iv)
            .expect("32-byte key, 16-byte IV")
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| "AES-CBC decryption failed".to_string())?;
        Ok(buf)
    }

    /// HMAC-SHA-256 of `message`: its first 16 bytes (protocol 1), or all
    /// 32 with the first 32 bytes of `key` (protocol 2: a shared secret's
    /// HMAC half, or a whole token).
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let key = match self {
            Self::Two if key.len() > 32 => &key[..32],
            _ => key,
        };
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        let full = mac.finalize().into_bytes();
        match self {
            Self::One => full[..16].to_vec(),
            Self::Two => full.to_vec(),
        }
    }

    /// Checks a [`Self::authenticate`] result in constant time.
    pub fn verify(self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let key = match self {
            Self::Two if key.len() > 32 => &key[..32],
            _ => key,
        };
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        match self {
            Self::One if signature.len() == 16 => mac.verify_truncated_left(signature).is_ok(),
            Self::Two if signature.len() == 32 => mac.verify_slice(signature).is_ok(),
            _ => false,
        }
    }
}

/// The first 16 bytes of SHA-256(PIN): what a key compares.
pub fn pin_hash(pin: &str) -> Zeroizing<Vec<u8>> {
    let mut full = Sha256::digest(pin.as_bytes());
    let out = Zeroizing::new(full[..16].to_vec());
    zeroize::Zeroize::zeroize(full.as_mut_slice());
    out
}

/// A P-256 public key as a COSE_Key for key agreement (kty EC2, alg -25).
pub fn cose_key_agreement(public: &PublicKey) -> Value {
    let point = public.to_encoded_point(false);
    let mut m = BTreeMap::new();
    m.insert(Value::Integer(1), Value::Integer(2));
    m.insert(Value::Integer(3), Value::Integer(COSE_ALG_ECDH_ES_HKDF_256));
    m.insert(Value::Integer(-1), Value::Integer(1));
    m.insert(
        Value::Integer(-2),
        Value::Bytes(point.x().expect("uncompressed").to_vec()),
    );
    m.insert(
        Value::Integer(-3),
        Value::Bytes(point.y().expect("uncompressed").to_vec()),
    );
    Value::Map(m)
}

/// Reads a key-agreement COSE_Key (an EC2 P-256 point on the curve).
pub fn parse_cose_key(v: &Value) -> Result<PublicKey, String> {
    let Value::Map(m) = v else {
        return Err("the key-agreement key is not a COSE map".into());
    };
    if m.get(&Value::Integer(1)) != Some(&Value::Integer(2))
        || m.get(&Value::Integer(-1)) != Some(&Value::Integer(1))
    {
        return Err("the key-agreement key is not an EC2 P-256 key".into());
    }
    let coord = |k: i128| match m.get(&Value::Integer(k)) {
        Some(Value::Bytes(b)) if b.len() == 32 => Ok(b.as_slice()),
        _ => Err("the key-agreement key lacks a 32-byte coordinate".to_string()),
    };
    let point = EncodedPoint::from_affine_coordinates(coord(-2)?.into(), coord(-3)?.into(), false);
    Option::from(PublicKey::from_encoded_point(&point))
        .ok_or_else(|| "the key-agreement key is not a point on P-256".to_string())
}

/// The ECDH x-coordinate Z of `secret` and `peer`.
pub fn ecdh(secret: &SecretKey, peer: &PublicKey) -> Zeroizing<[u8; 32]> {
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    Zeroizing::new((*shared.raw_secret_bytes()).into())
}

/// A fresh P-256 key from the kernel's random source.
pub fn random_secret_key() -> Result<SecretKey, Fido2Error> {
    loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random(&mut bytes[..])?;
        if let Ok(k) = SecretKey::from_slice(&bytes[..]) {
            return Ok(k);
        }
    }
}
