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

use serde_cbor_2::Value;
use zeroize::Zeroizing;

pub use super::pin_protocol::{
    cose_key_agreement, ecdh, parse_cose_key, pin_hash, random_secret_key, PinProtocol,
    COSE_ALG_ECDH_ES_HKDF_256,
};
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
