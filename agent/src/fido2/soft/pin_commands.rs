//! The software authenticator's side of ClientPIN (CTAP 2.1 §6.5): its
//! key-agreement key, PIN retries counted down and saved, blocks, and
//! pinUvAuthTokens with permissions.

use std::collections::BTreeMap;

use serde_cbor_2::Value;
use zeroize::Zeroizing;

use super::{
    cbor, status, Answer, SoftAuthenticator, Token, MAX_CONSECUTIVE_MISMATCHES, MAX_PIN_RETRIES,
};
use crate::fido2::client_pin::{self as pin, PinProtocol};
use crate::fido2::random::random;
use crate::fido2::Fido2Error;

impl SoftAuthenticator {
    pub(super) fn protocol(&self, n: i128) -> Option<PinProtocol> {
        PinProtocol::from_number(n).filter(|p| self.pin_protocols.contains(&p.number()))
    }

    /// The authenticator's key-agreement key, made at first use.
    pub(super) fn key_agreement(&mut self) -> Result<p256::SecretKey, Fido2Error> {
        if self.volatile.key_agreement.is_none() {
            self.volatile.key_agreement = Some(pin::random_secret_key()?);
        }
        Ok(self.volatile.key_agreement.clone().expect("just set"))
    }

    /// authenticatorClientPIN (CTAP 2.1 §6.5.5): getPINRetries,
    /// getKeyAgreement, getPinToken and getPinUvAuthTokenUsingPinWithPermissions.
    pub(super) fn ctap_client_pin(&mut self, body: &[u8]) -> Result<Answer, Fido2Error> {
        let Ok(Value::Map(m)) = serde_cbor_2::from_slice::<Value>(body) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let int = |k: i128| match m.get(&Value::Integer(k)) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        };
        let Some(sub) = int(2) else {
            return Ok(Err(status::MISSING_PARAMETER));
        };
        if sub == i128::from(pin::SUB_GET_PIN_RETRIES) {
            let mut out = BTreeMap::new();
            out.insert(Value::Integer(3), Value::Integer(self.pin_retries.into()));
            return Ok(Ok(cbor(out)));
        }
        let Some(n) = int(1) else {
            return Ok(Err(status::MISSING_PARAMETER));
        };
        let Some(protocol) = self.protocol(n) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        if sub == i128::from(pin::SUB_GET_KEY_AGREEMENT) {
            let key = self.key_agreement()?;
            let mut out = BTreeMap::new();
            out.insert(
                Value::Integer(1),
                pin::cose_key_agreement(&key.public_key()),
            );
            return Ok(Ok(cbor(out)));
        }
        let with_permissions = sub == i128::from(pin::SUB_GET_TOKEN_USING_PIN_WITH_PERMISSIONS)
            && self.pin_protocols.contains(&2)
            && self.token_with_permissions;
        if !with_permissions && sub != i128::from(pin::SUB_GET_PIN_TOKEN) {
            return Ok(Err(status::INVALID_SUBCOMMAND));
        }
        let (Some(platform_key), Some(Value::Bytes(pin_hash_enc))) =
            (m.get(&Value::Integer(3)), m.get(&Value::Integer(6)))
        else {
            return Ok(Err(status::MISSING_PARAMETER));
        };
        let (permissions, rp_id) = match token_scope(&m, with_permissions) {
            Ok(scope) => scope,
            Err(code) => return Ok(Err(code)),
        };
        let secret = match self.check_pin(protocol, platform_key, pin_hash_enc)? {
            Ok(secret) => secret,
            Err(code) => return Ok(Err(code)),
        };
        let mut token = Zeroizing::new(vec![0u8; 32]);
        random(&mut token)?;
        let mut iv = [0u8; 16];
        random(&mut iv)?;
        let encrypted = protocol.encrypt(&secret, &token, iv);
        self.volatile.token = Some(Token {
            bytes: token,
            permissions,
            rp_id,
        });
        let mut out = BTreeMap::new();
        out.insert(Value::Integer(2), Value::Bytes(encrypted));
        Ok(Ok(cbor(out)))
    }

    /// The PIN's hash, encrypted under the shared secret with the platform's
    /// key: checked (a try counted and saved first), the mismatch counters
    /// kept. Returns the shared secret, or the status to answer.
    fn check_pin(
        &mut self,
        protocol: PinProtocol,
        platform_key: &Value,
        pin_hash_enc: &[u8],
    ) -> Result<Result<Zeroizing<Vec<u8>>, u8>, Fido2Error> {
        let Some(current) = self.pin.clone() else {
            return Ok(Err(status::PIN_NOT_SET));
        };
        if self.pin_retries == 0 {
            return Ok(Err(status::PIN_BLOCKED));
        }
        if self.volatile.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
            return Ok(Err(status::PIN_AUTH_BLOCKED));
        }
        let Ok(peer) = pin::parse_cose_key(platform_key) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let key = self.key_agreement()?;
        let secret = protocol.kdf(&pin::ecdh(&key, &peer));
        // Counted before the check, and saved: pulling the key out mid-way
        // does not give a free try.
        self.pin_retries -= 1;
        self.persist()?;
        let Ok(hash) = protocol.decrypt(&secret, pin_hash_enc) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let want = pin::pin_hash(&current);
        let equal = hash.len() == want.len()
            && hash
                .iter()
                .zip(want.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !equal {
            self.volatile.key_agreement = Some(pin::random_secret_key()?);
            self.volatile.consecutive_mismatches += 1;
            if self.pin_retries == 0 {
                return Ok(Err(status::PIN_BLOCKED));
            }
            if self.volatile.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
                return Ok(Err(status::PIN_AUTH_BLOCKED));
            }
            return Ok(Err(status::PIN_INVALID));
        }
        self.pin_retries = MAX_PIN_RETRIES;
        self.volatile.consecutive_mismatches = 0;
        self.persist()?;
        Ok(Ok(secret))
    }
}

/// The permissions and rp_id a token is asked for: with permissions, the
/// request's (`mc`/`ga` only, an rp_id required); getPinToken's: both, any
/// rp. `Err`: the status to answer.
fn token_scope(
    m: &BTreeMap<Value, Value>,
    with_permissions: bool,
) -> Result<(u8, Option<String>), u8> {
    if !with_permissions {
        // getPinToken: makeCredential and getAssertion, any rp.
        return Ok((
            pin::PERMISSION_MAKE_CREDENTIAL | pin::PERMISSION_GET_ASSERTION,
            None,
        ));
    }
    let Some(Value::Integer(p)) = m.get(&Value::Integer(9)) else {
        return Err(status::MISSING_PARAMETER);
    };
    let p = *p;
    let rp_id = match m.get(&Value::Integer(0x0a)) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    };
    if p == 0 || p > 0xff {
        return Err(status::INVALID_PARAMETER);
    }
    if p & !i128::from(pin::PERMISSION_GET_ASSERTION | pin::PERMISSION_MAKE_CREDENTIAL) != 0 {
        return Err(status::UNAUTHORIZED_PERMISSION);
    }
    if rp_id.is_none() {
        return Err(status::MISSING_PARAMETER);
    }
    Ok((p as u8, rp_id))
}
