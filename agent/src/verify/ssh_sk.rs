//! OpenSSH security-key ("sk") signatures, checked against a registered key.
//!
//! What the authenticator signs (OpenSSH's PROTOCOL.u2f) is
//! `SHA256(application) || flags || counter (be32) || SHA256(message)`.
//! The flags and counter returned here are the ones inside that signed data:
//! a peer cannot claim a touch (UP) or a PIN (UV) it did not sign.
//!
//! Supported: `sk-ssh-ed25519@openssh.com` and
//! `sk-ecdsa-sha2-nistp256@openssh.com`. Anything else (plain keys, the
//! `webauthn-sk-*` signature forms) is refused.

use std::fmt;

use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest, Sha256};
use ssh_encoding::{Decode, Reader};

/// Key type and signature algorithm of an Ed25519 security key.
pub const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com";
/// Key type and signature algorithm of an ECDSA P-256 security key.
pub const SK_ECDSA_P256: &str = "sk-ecdsa-sha2-nistp256@openssh.com";

/// Authenticator flag: the user touched the key (user presence).
pub const FLAG_USER_PRESENT: u8 = 0x01;
/// Authenticator flag: the user was verified (PIN or biometric).
pub const FLAG_USER_VERIFIED: u8 = 0x04;

const ED25519_SIGNATURE_LEN: usize = 64;
const P256_FIELD_LEN: usize = 32;

/// What a verified sk signature says about the tap, read from the signed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkAssertion {
    /// Authenticator flags: [`FLAG_USER_PRESENT`], [`FLAG_USER_VERIFIED`].
    pub flags: u8,
    /// The authenticator's signature counter.
    pub counter: u32,
}

impl SkAssertion {
    /// The signature was made with a touch (UP).
    pub fn user_present(&self) -> bool {
        self.flags & FLAG_USER_PRESENT != 0
    }

    /// The signature was made after user verification (UV: PIN or biometric).
    pub fn user_verified(&self) -> bool {
        self.flags & FLAG_USER_VERIFIED != 0
    }
}

/// Why an sk signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkVerifyError {
    /// The public key blob is malformed.
    BadKey(String),
    /// The public key is not a supported security-key type.
    UnsupportedKeyType(String),
    /// The signature blob is malformed.
    BadSignatureEncoding(String),
    /// The signature's algorithm is not the key's.
    WrongAlgorithm { key: String, signature: String },
    /// Well-formed, but not a valid signature by this key over this message.
    SignatureInvalid,
}

impl fmt::Display for SkVerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadKey(why) => write!(f, "bad security-key public key: {why}"),
            Self::UnsupportedKeyType(t) => write!(
                f,
                "unsupported key type \"{t}\" (expected {SK_ED25519} or {SK_ECDSA_P256})"
            ),
            Self::BadSignatureEncoding(why) => write!(f, "bad signature encoding: {why}"),
            Self::WrongAlgorithm { key, signature } => write!(
                f,
                "wrong signature algorithm: a \"{signature}\" signature for a \"{key}\" key"
            ),
            Self::SignatureInvalid => f.write_str("signature invalid for this key and message"),
        }
    }
}

impl std::error::Error for SkVerifyError {}

/// Verifies an OpenSSH sk signature and returns the flags and counter it signed.
///
/// `key_blob`: the SSH wire-format public key (`sk-ssh-ed25519@openssh.com` or
/// `sk-ecdsa-sha2-nistp256@openssh.com`, with its application string, e.g. `"ssh:"`);
/// `sig_blob`: the SSH wire-format signature as an ssh-agent or sshsig returns it
/// (string algorithm, string signature, byte flags, uint32 counter);
/// `message`: the data that was signed.
///
/// Whether the flags are enough (UP, UV) and whether the counter moved
/// forward is the caller's decision.
pub fn verify_sk_signature(
    key_blob: &[u8],
    sig_blob: &[u8],
    message: &[u8],
) -> Result<SkAssertion, SkVerifyError> {
    let key = SkPublicKey::parse(key_blob)?;
    let sig = SkSignature::parse(sig_blob)?;
    if sig.algorithm != key.algorithm().as_bytes() {
        return Err(SkVerifyError::WrongAlgorithm {
            key: key.algorithm().to_string(),
            signature: printable(&sig.algorithm),
        });
    }
    let signed = signed_data(key.application(), sig.flags, sig.counter, message);
    match &key {
        SkPublicKey::Ed25519 { key, .. } => {
            let raw: [u8; ED25519_SIGNATURE_LEN] = sig.raw.as_slice().try_into().map_err(|_| {
                SkVerifyError::BadSignatureEncoding(format!(
                    "an Ed25519 signature is {ED25519_SIGNATURE_LEN} bytes, not {}",
                    sig.raw.len()
                ))
            })?;
            let signature = ed25519_dalek::Signature::from_bytes(&raw);
            // Strict: no malleable (non-canonical) signatures, no weak keys.
            key.verify_strict(&signed, &signature)
                .map_err(|_| SkVerifyError::SignatureInvalid)?;
        }
        SkPublicKey::EcdsaP256 { key, .. } => {
            let signature = parse_p256_signature(&sig.raw)?;
            // ECDSA with SHA-256 over the signed data, as OpenSSH's ssh-ecdsa-sk.c.
            key.verify(&signed, &signature)
                .map_err(|_| SkVerifyError::SignatureInvalid)?;
        }
    }
    Ok(SkAssertion {
        flags: sig.flags,
        counter: sig.counter,
    })
}

/// `SHA256(application) || flags || counter || SHA256(message)`.
fn signed_data(application: &[u8], flags: u8, counter: u32, message: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(32 + 1 + 4 + 32);
    data.extend_from_slice(&Sha256::digest(application));
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    data.extend_from_slice(&Sha256::digest(message));
    data
}

enum SkPublicKey {
    Ed25519 {
        key: ed25519_dalek::VerifyingKey,
        application: Vec<u8>,
    },
    EcdsaP256 {
        key: p256::ecdsa::VerifyingKey,
        application: Vec<u8>,
    },
}

impl SkPublicKey {
    fn parse(blob: &[u8]) -> Result<Self, SkVerifyError> {
        let bad =
            |what: &str, e: ssh_encoding::Error| SkVerifyError::BadKey(format!("{what}: {e}"));
        let mut r = blob;
        let key_type = Vec::<u8>::decode(&mut r).map_err(|e| bad("key type", e))?;
        let key = if key_type == SK_ED25519.as_bytes() {
            let point = Vec::<u8>::decode(&mut r).map_err(|e| bad("Ed25519 public key", e))?;
            let point: [u8; 32] = point.as_slice().try_into().map_err(|_| {
                SkVerifyError::BadKey(format!(
                    "an Ed25519 public key is 32 bytes, not {}",
                    point.len()
                ))
            })?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&point)
                .map_err(|_| SkVerifyError::BadKey("not an Ed25519 curve point".into()))?;
            let application = Vec::<u8>::decode(&mut r).map_err(|e| bad("application", e))?;
            Self::Ed25519 { key, application }
        } else if key_type == SK_ECDSA_P256.as_bytes() {
            let curve = Vec::<u8>::decode(&mut r).map_err(|e| bad("curve name", e))?;
            if curve != b"nistp256" {
                return Err(SkVerifyError::BadKey(format!(
                    "curve {} for a {SK_ECDSA_P256} key (expected \"nistp256\")",
                    printable(&curve)
                )));
            }
            let point = Vec::<u8>::decode(&mut r).map_err(|e| bad("P-256 public point", e))?;
            // OpenSSH only writes (and accepts) uncompressed points.
            if point.len() != 1 + 2 * P256_FIELD_LEN || point[0] != 0x04 {
                return Err(SkVerifyError::BadKey(
                    "the P-256 public point is not an uncompressed SEC1 point".into(),
                ));
            }
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| SkVerifyError::BadKey("not a P-256 curve point".into()))?;
            let application = Vec::<u8>::decode(&mut r).map_err(|e| bad("application", e))?;
            Self::EcdsaP256 { key, application }
        } else {
            return Err(SkVerifyError::UnsupportedKeyType(printable(&key_type)));
        };
        if !r.is_finished() {
            return Err(SkVerifyError::BadKey(format!(
                "{} bytes after the key",
                r.remaining_len()
            )));
        }
        Ok(key)
    }

    fn algorithm(&self) -> &'static str {
        match self {
            Self::Ed25519 { .. } => SK_ED25519,
            Self::EcdsaP256 { .. } => SK_ECDSA_P256,
        }
    }

    fn application(&self) -> &[u8] {
        match self {
            Self::Ed25519 { application, .. } | Self::EcdsaP256 { application, .. } => application,
        }
    }
}

/// The outer SSH signature of an sk key: algorithm, raw signature, flags, counter.
struct SkSignature {
    algorithm: Vec<u8>,
    raw: Vec<u8>,
    flags: u8,
    counter: u32,
}

impl SkSignature {
    fn parse(blob: &[u8]) -> Result<Self, SkVerifyError> {
        let bad = |what: &str, e: ssh_encoding::Error| {
            SkVerifyError::BadSignatureEncoding(format!("{what}: {e}"))
        };
        let mut r = blob;
        let algorithm = Vec::<u8>::decode(&mut r).map_err(|e| bad("algorithm", e))?;
        let raw = Vec::<u8>::decode(&mut r).map_err(|e| bad("signature", e))?;
        let flags = u8::decode(&mut r).map_err(|e| bad("flags", e))?;
        let counter = u32::decode(&mut r).map_err(|e| bad("counter", e))?;
        if !r.is_finished() {
            return Err(SkVerifyError::BadSignatureEncoding(format!(
                "{} bytes after the counter",
                r.remaining_len()
            )));
        }
        Ok(Self {
            algorithm,
            raw,
            flags,
            counter,
        })
    }
}

/// The inner ECDSA signature: `mpint r, mpint s`, nothing after.
fn parse_p256_signature(raw: &[u8]) -> Result<p256::ecdsa::Signature, SkVerifyError> {
    let bad = |what: &str, e: ssh_encoding::Error| {
        SkVerifyError::BadSignatureEncoding(format!("ECDSA {what}: {e}"))
    };
    let mut reader = raw;
    let r = Vec::<u8>::decode(&mut reader).map_err(|e| bad("r", e))?;
    let s = Vec::<u8>::decode(&mut reader).map_err(|e| bad("s", e))?;
    if !reader.is_finished() {
        return Err(SkVerifyError::BadSignatureEncoding(format!(
            "{} bytes after the ECDSA signature",
            reader.remaining_len()
        )));
    }
    let r = mpint_to_field_bytes(&r, "r")?;
    let s = mpint_to_field_bytes(&s, "s")?;
    p256::ecdsa::Signature::from_scalars(r, s)
        .map_err(|_| SkVerifyError::BadSignatureEncoding("ECDSA r or s out of range".into()))
}

/// A positive, minimally encoded SSH mpint of at most 32 bytes, left-padded.
fn mpint_to_field_bytes(m: &[u8], name: &str) -> Result<[u8; P256_FIELD_LEN], SkVerifyError> {
    let bad = |why: &str| SkVerifyError::BadSignatureEncoding(format!("ECDSA {name}: {why}"));
    let digits = match m {
        [] => return Err(bad("zero")),
        [first, ..] if first & 0x80 != 0 => return Err(bad("negative")),
        [0, next, ..] if next & 0x80 != 0 => &m[1..],
        [0, ..] => return Err(bad("not minimally encoded")),
        _ => m,
    };
    if digits.len() > P256_FIELD_LEN {
        return Err(bad("longer than 32 bytes"));
    }
    let mut out = [0u8; P256_FIELD_LEN];
    out[P256_FIELD_LEN - digits.len()..].copy_from_slice(digits);
    Ok(out)
}

/// A name from the wire, safe to show in a message (escaped, at most 80 bytes).
fn printable(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(80)];
    let mut s = cut.escape_ascii().to_string();
    if bytes.len() > cut.len() {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
