//! CTAP 2.1 authenticatorClientPIN (§6.5), the platform side: getInfo, PIN
//! retries, and a pinUvAuthToken from the PIN, so a key without built-in
//! user verification can sign with UV. Transport-independent: it speaks
//! through [`Authenticator::transact`], so USB keys and the software
//! authenticator run the same code.
//!
//! PIN/UV auth protocol 2 (HKDF-SHA-256 shared secret, AES-256-CBC with a
//! random IV, full HMAC-SHA-256) is preferred; protocol 1 (SHA-256 of the
//! ECDH x-coordinate, zero IV, HMAC truncated to 16 bytes) is used when the
//! key offers only that. Keys with FIDO_2_1 get a token limited to
//! getAssertion for one rp_id (subCommand 0x09); older keys a getPinToken
//! (0x05) token. The PIN, its hash, the shared secret and the token are
//! zeroized when dropped.

use std::collections::BTreeMap;
use std::time::Instant;

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
use super::status::{status_error, STATUS_OK};
use super::{Authenticator, Fido2Error};

/// authenticatorGetInfo command byte.
pub const CMD_GET_INFO: u8 = 0x04;
/// authenticatorClientPIN command byte.
pub const CMD_CLIENT_PIN: u8 = 0x06;

pub const SUB_GET_PIN_RETRIES: u8 = 0x01;
pub const SUB_GET_KEY_AGREEMENT: u8 = 0x02;
pub const SUB_GET_PIN_TOKEN: u8 = 0x05;
pub const SUB_GET_TOKEN_USING_PIN_WITH_PERMISSIONS: u8 = 0x09;
/// The `ga` (getAssertion) permission of a pinUvAuthToken.
pub const PERMISSION_GET_ASSERTION: u8 = 0x02;
/// The `mc` (makeCredential) permission of a pinUvAuthToken.
pub const PERMISSION_MAKE_CREDENTIAL: u8 = 0x01;
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

/// What authenticatorGetInfo says about user verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub versions: Vec<String>,
    /// `clientPin` option: None, no PIN support; Some(false), no PIN set.
    pub client_pin: Option<bool>,
    /// `uv` option: built-in user verification (None: none; Some(false):
    /// capable, not configured).
    pub uv: Option<bool>,
    /// `pinUvAuthToken` option: getPinUvAuthTokenUsing*WithPermissions.
    pub pin_uv_auth_token: bool,
    /// `pinUvAuthProtocols`, in the key's order of preference.
    pub protocols: Vec<u8>,
}

impl Info {
    /// The protocol to use: 2 when offered, else 1 (a CTAP 2.0 key that
    /// lists none speaks 1).
    pub fn protocol(&self) -> Option<PinProtocol> {
        if self.protocols.contains(&2) {
            Some(PinProtocol::Two)
        } else if self.protocols.contains(&1) || self.protocols.is_empty() {
            Some(PinProtocol::One)
        } else {
            None
        }
    }

    /// Whether the key takes a token with permissions (CTAP 2.1).
    pub fn token_with_permissions(&self) -> bool {
        self.pin_uv_auth_token || self.versions.iter().any(|v| v == "FIDO_2_1")
    }
}

fn response_map(reply: &[u8], what: &str) -> Result<BTreeMap<Value, Value>, Fido2Error> {
    let (&status, body) = reply
        .split_first()
        .ok_or_else(|| Fido2Error::Protocol(format!("empty {what} response")))?;
    if status != STATUS_OK {
        return Err(status_error(status, false));
    }
    match serde_cbor_2::from_slice(body) {
        Ok(Value::Map(m)) => Ok(m),
        _ => Err(Fido2Error::Protocol(format!(
            "the {what} response is not a CBOR map"
        ))),
    }
}

/// Reads an authenticatorGetInfo response.
pub fn decode_info(reply: &[u8]) -> Result<Info, Fido2Error> {
    let m = response_map(reply, "getInfo")?;
    let mut info = Info::default();
    if let Some(Value::Array(vs)) = m.get(&Value::Integer(1)) {
        info.versions = vs
            .iter()
            .filter_map(|v| match v {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
    }
    if let Some(Value::Map(opts)) = m.get(&Value::Integer(4)) {
        let opt = |k: &str| match opts.get(&Value::Text(k.into())) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        };
        info.client_pin = opt("clientPin");
        info.uv = opt("uv");
        info.pin_uv_auth_token = opt("pinUvAuthToken") == Some(true);
    }
    if let Some(Value::Array(ps)) = m.get(&Value::Integer(6)) {
        info.protocols = ps
            .iter()
            .filter_map(|p| match p {
                Value::Integer(n) => u8::try_from(*n).ok(),
                _ => None,
            })
            .collect();
    }
    Ok(info)
}

/// An authenticatorClientPIN request.
pub fn encode_client_pin(
    protocol: PinProtocol,
    sub: u8,
    extra: impl IntoIterator<Item = (i128, Value)>,
) -> Vec<u8> {
    let mut m = BTreeMap::new();
    m.insert(Value::Integer(1), Value::Integer(protocol.number().into()));
    m.insert(Value::Integer(2), Value::Integer(sub.into()));
    for (k, v) in extra {
        m.insert(Value::Integer(k), v);
    }
    let mut out = vec![CMD_CLIENT_PIN];
    out.extend(serde_cbor_2::to_vec(&Value::Map(m)).expect("a CBOR Value always encodes"));
    out
}

/// authenticatorGetInfo.
pub fn get_info(dev: &mut dyn Authenticator, deadline: Instant) -> Result<Info, Fido2Error> {
    decode_info(&dev.transact(&[CMD_GET_INFO], deadline)?)
}

/// getPINRetries: how many wrong PINs the key still takes.
pub fn pin_retries(
    dev: &mut dyn Authenticator,
    protocol: PinProtocol,
    deadline: Instant,
) -> Result<u8, Fido2Error> {
    let reply = dev.transact(
        &encode_client_pin(protocol, SUB_GET_PIN_RETRIES, []),
        deadline,
    )?;
    match response_map(&reply, "getPINRetries")?.get(&Value::Integer(3)) {
        Some(Value::Integer(n)) => u8::try_from(*n)
            .map_err(|_| Fido2Error::Protocol(format!("{n} PIN retries is not a count"))),
        _ => Err(Fido2Error::Protocol(
            "the getPINRetries response has no pinRetries".into(),
        )),
    }
}

/// A pinUvAuthToken (zeroized when dropped).
pub struct PinToken {
    pub protocol: PinProtocol,
    token: Zeroizing<Vec<u8>>,
}

/// Names the protocol only: the token is a secret.
impl std::fmt::Debug for PinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinToken")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl PinToken {
    /// pinUvAuthParam for a getAssertion of `client_data_hash`.
    pub fn auth_param(&self, client_data_hash: &[u8; 32]) -> PinUvAuth {
        PinUvAuth {
            protocol: self.protocol.number(),
            param: self.protocol.authenticate(&self.token, client_data_hash),
        }
    }
}

/// What getAssertion carries to prove user verification by PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinUvAuth {
    pub protocol: u8,
    pub param: Vec<u8>,
}

/// How a key verifies its user for an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UvMethod {
    /// On its own (biometric, on-key PIN pad): the `uv` option.
    BuiltIn,
    /// With the PIN typed on this computer: a pinUvAuthToken.
    Pin,
}

impl Info {
    /// How this key can verify its user: built-in UV when configured,
    /// else its PIN; [`Fido2Error::PinNotSet`] when it could take a PIN
    /// but has none.
    pub fn uv_method(&self) -> Result<UvMethod, Fido2Error> {
        if self.uv == Some(true) {
            return Ok(UvMethod::BuiltIn);
        }
        match self.client_pin {
            Some(true) => Ok(UvMethod::Pin),
            Some(false) => Err(Fido2Error::PinNotSet),
            None => Err(Fido2Error::UserVerificationUnavailable(
                "the key has neither a PIN nor built-in user verification".into(),
            )),
        }
    }
}

/// CTAP1_ERR_INVALID_COMMAND and CTAP2_ERR_INVALID_SUBCOMMAND: what a key
/// without getPinUvAuthTokenUsingPinWithPermissions answers it.
const NO_SUCH_SUBCOMMAND: [u8; 2] = [0x01, 0x3e];

/// Gets a pinUvAuthToken with the PIN: key agreement, the encrypted PIN
/// hash, the decrypted token. Protocol 2 when the key offers it, else 1;
/// a token limited to getAssertion for `rp_id` when the key takes
/// permissions (CTAP 2.1), else getPinToken (CTAP 2.0, or a 2.1 key that
/// turns the subcommand down). A wrong PIN is [`Fido2Error::PinInvalid`]
/// with the tries the key still takes.
pub fn pin_token(
    dev: &mut dyn Authenticator,
    info: &Info,
    pin: &str,
    rp_id: &str,
    deadline: Instant,
) -> Result<PinToken, Fido2Error> {
    pin_token_for(dev, info, pin, rp_id, PERMISSION_GET_ASSERTION, deadline)
}

/// [`pin_token`] for another permission (such as
/// [`PERMISSION_MAKE_CREDENTIAL`] for a registration).
pub fn pin_token_for(
    dev: &mut dyn Authenticator,
    info: &Info,
    pin: &str,
    rp_id: &str,
    permission: u8,
    deadline: Instant,
) -> Result<PinToken, Fido2Error> {
    let protocol = info.protocol().ok_or_else(|| {
        Fido2Error::UserVerificationUnavailable(format!(
            "the key offers only PIN/UV auth protocols {:?}, not 1 or 2",
            info.protocols
        ))
    })?;
    let result = if info.token_with_permissions() {
        match request_token(dev, protocol, pin, Some((rp_id, permission)), deadline) {
            Err(Fido2Error::Ctap(code)) if NO_SUCH_SUBCOMMAND.contains(&code) => {
                request_token(dev, protocol, pin, None, deadline)
            }
            other => other,
        }
    } else {
        request_token(dev, protocol, pin, None, deadline)
    };
    match result {
        Err(Fido2Error::PinInvalid { .. }) => Err(Fido2Error::PinInvalid {
            retries: pin_retries(dev, protocol, deadline).ok(),
        }),
        other => other,
    }
}

/// One getKeyAgreement and one getPinUvAuthTokenUsingPinWithPermissions
/// (with `rp_id`) or getPinToken (without).
fn request_token(
    dev: &mut dyn Authenticator,
    protocol: PinProtocol,
    pin: &str,
    rp_id: Option<(&str, u8)>,
    deadline: Instant,
) -> Result<PinToken, Fido2Error> {
    let reply = dev.transact(
        &encode_client_pin(protocol, SUB_GET_KEY_AGREEMENT, []),
        deadline,
    )?;
    let peer = match response_map(&reply, "getKeyAgreement")?.get(&Value::Integer(1)) {
        Some(v) => parse_cose_key(v).map_err(Fido2Error::Protocol)?,
        None => {
            return Err(Fido2Error::Protocol(
                "the getKeyAgreement response has no key".into(),
            ))
        }
    };
    let platform = random_secret_key()?;
    let secret = protocol.kdf(&ecdh(&platform, &peer));
    let mut iv = [0u8; 16];
    random(&mut iv)?;
    let pin_hash_enc = protocol.encrypt(&secret, &pin_hash(pin), iv);
    let mut extra = vec![
        (3, cose_key_agreement(&platform.public_key())),
        (6, Value::Bytes(pin_hash_enc)),
    ];
    let sub = match rp_id {
        Some((rp_id, permission)) => {
            extra.push((9, Value::Integer(permission.into())));
            extra.push((0x0a, Value::Text(rp_id.to_string())));
            SUB_GET_TOKEN_USING_PIN_WITH_PERMISSIONS
        }
        None => SUB_GET_PIN_TOKEN,
    };
    let reply = dev.transact(&encode_client_pin(protocol, sub, extra), deadline)?;
    let encrypted = match response_map(&reply, "getPinUvAuthToken")?.get(&Value::Integer(2)) {
        Some(Value::Bytes(b)) => b.clone(),
        _ => {
            return Err(Fido2Error::Protocol(
                "the PIN token response has no token".into(),
            ))
        }
    };
    let token = protocol
        .decrypt(&secret, &encrypted)
        .map_err(|e| Fido2Error::Protocol(format!("the PIN token: {e}")))?;
    let ok_len = match protocol {
        PinProtocol::One => token.len() == 16 || token.len() == 32,
        PinProtocol::Two => token.len() == 32,
    };
    if !ok_len {
        return Err(Fido2Error::Protocol(format!(
            "a {}-byte PIN token",
            token.len()
        )));
    }
    Ok(PinToken { protocol, token })
}

#[cfg(test)]
mod tests;
