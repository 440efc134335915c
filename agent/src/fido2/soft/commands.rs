//! The software authenticator's CTAP2 commands but ClientPIN:
//! getAssertion, makeCredential and getInfo.

use std::collections::BTreeMap;

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::Signature;
use serde_cbor_2::Value;

use super::{cbor, status, Answer, SoftAuthenticator, TEST_AAGUID};
use crate::fido2::client_pin as pin;
use crate::fido2::ctap::{decode_get_assertion_params, encode_get_assertion_response};
use crate::fido2::{Fido2Error, GetAssertionResponse};
use crate::verify::webauthn::{
    FLAG_ATTESTED_DATA, FLAG_BACKUP_ELIGIBLE, FLAG_BACKUP_STATE, FLAG_USER_PRESENT,
    FLAG_USER_VERIFIED,
};

impl SoftAuthenticator {
    /// authenticatorGetAssertion (CTAP 2.1 §6.2.2, the parts a single
    /// non-discoverable-or-discoverable credential needs).
    pub(super) fn ctap_get_assertion(&mut self, body: &[u8]) -> Result<Answer, Fido2Error> {
        let Ok(req) = decode_get_assertion_params(body) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let mut verified = false;
        if let Some(auth) = &req.pin_uv_auth {
            let Some(protocol) = self.protocol(i128::from(auth.protocol)) else {
                return Ok(Err(if auth.protocol == 0 {
                    status::MISSING_PARAMETER
                } else {
                    status::INVALID_PARAMETER
                }));
            };
            let Some(token) = &self.volatile.token else {
                return Ok(Err(status::PIN_AUTH_INVALID));
            };
            if !protocol.verify(&token.bytes, &req.client_data_hash, &auth.param) {
                return Ok(Err(status::PIN_AUTH_INVALID));
            }
            if token.permissions & pin::PERMISSION_GET_ASSERTION == 0
                || token.rp_id.as_deref().is_some_and(|rp| rp != req.rp_id)
            {
                return Ok(Err(status::UNAUTHORIZED_PERMISSION));
            }
            verified = true;
        } else if req.user_verification {
            if self.built_in_uv() {
                verified = true;
            } else if self.pin.is_some() {
                return Ok(Err(status::PUAT_REQUIRED));
            } else {
                return Ok(Err(status::INVALID_OPTION));
            }
        }
        if req.rp_id != self.rp_id
            || (req.allow_credentials.is_empty() && !self.discoverable)
            || (!req.allow_credentials.is_empty()
                && !req.allow_credentials.contains(&self.credential_id))
        {
            return Ok(Err(status::NO_CREDENTIALS));
        }
        let counter = self.counter.wrapping_add(1);
        let mut flags = 0;
        if self.user_present {
            flags |= FLAG_USER_PRESENT;
        }
        if verified {
            flags |= FLAG_USER_VERIFIED;
        }
        if self.backup_eligible {
            flags |= FLAG_BACKUP_ELIGIBLE;
        }
        if self.backup_state {
            flags |= FLAG_BACKUP_STATE;
        }
        let authenticator_data = self.authenticator_data(flags, counter);
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(&req.client_data_hash);
        let signature: Signature = self.key.sign(&signed);
        self.counter = counter;
        self.persist()?;
        let resp = GetAssertionResponse {
            credential_id: self.credential_id.clone(),
            authenticator_data,
            signature: der_signature(&signature),
        };
        Ok(Ok(encode_get_assertion_response(&resp)[1..].to_vec()))
    }

    /// authenticatorMakeCredential: registers a fresh credential for the
    /// request's rp_id (replacing the one held; saved back to the file),
    /// attested with the test attestation key and chain when set up
    /// (packed, x5c), else self-attested (packed, no x5c).
    pub(super) fn ctap_make_credential(&mut self, request: &[u8]) -> Result<Answer, Fido2Error> {
        let Ok(req) = crate::fido2::make_credential::decode_make_credential_request(request) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let mut verified = false;
        if let Some(auth) = &req.pin_uv_auth {
            let Some(protocol) = self.protocol(i128::from(auth.protocol)) else {
                return Ok(Err(status::INVALID_PARAMETER));
            };
            let Some(token) = &self.volatile.token else {
                return Ok(Err(status::PIN_AUTH_INVALID));
            };
            if !protocol.verify(&token.bytes, &req.client_data_hash, &auth.param) {
                return Ok(Err(status::PIN_AUTH_INVALID));
            }
            if token.permissions & pin::PERMISSION_MAKE_CREDENTIAL == 0
                || token.rp_id.as_deref().is_some_and(|rp| rp != req.rp_id)
            {
                return Ok(Err(status::UNAUTHORIZED_PERMISSION));
            }
            verified = true;
        } else if req.user_verification {
            if !self.built_in_uv() {
                return Ok(Err(if self.pin.is_some() {
                    status::PUAT_REQUIRED
                } else {
                    status::INVALID_OPTION
                }));
            }
            verified = true;
        }
        let fresh = SoftAuthenticator::generate(&req.rp_id)?;
        self.rp_id = fresh.rp_id;
        self.credential_id = fresh.credential_id;
        self.key = fresh.key;
        self.counter = 0;
        let mut flags = FLAG_ATTESTED_DATA;
        if self.user_present {
            flags |= FLAG_USER_PRESENT;
        }
        if verified {
            flags |= FLAG_USER_VERIFIED;
        }
        let mut auth_data = self.authenticator_data(flags, 0);
        auth_data.extend_from_slice(if self.attestation.is_some() {
            &TEST_AAGUID
        } else {
            &[0u8; 16]
        });
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.public_key_cose());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&req.client_data_hash);
        let mut stmt = BTreeMap::new();
        stmt.insert(Value::Text("alg".into()), Value::Integer(-7));
        let sig: Signature = match &self.attestation {
            Some((key, x5c)) => {
                stmt.insert(
                    Value::Text("x5c".into()),
                    Value::Array(x5c.iter().map(|c| Value::Bytes(c.clone())).collect()),
                );
                key.sign(&signed)
            }
            None => self.key.sign(&signed),
        };
        stmt.insert(Value::Text("sig".into()), Value::Bytes(der_signature(&sig)));
        self.persist()?;
        let resp = crate::fido2::MakeCredentialResponse {
            fmt: "packed".into(),
            auth_data,
            att_stmt: Value::Map(stmt),
        };
        Ok(Ok(
            crate::fido2::make_credential::encode_make_credential_response(&resp)[1..].to_vec(),
        ))
    }

    /// authenticatorGetInfo.
    pub(super) fn ctap_get_info(&self) -> Vec<u8> {
        let text = |t: &str| Value::Text(t.to_string());
        let v21 = self.pin_protocols.contains(&2);
        let mut versions = vec![text("FIDO_2_0")];
        if v21 {
            versions.push(text("FIDO_2_1"));
        }
        let mut options = BTreeMap::new();
        options.insert(text("up"), Value::Bool(true));
        options.insert(text("clientPin"), Value::Bool(self.pin.is_some()));
        if self.built_in_uv() {
            options.insert(text("uv"), Value::Bool(true));
        }
        if v21 && self.token_with_permissions {
            options.insert(text("pinUvAuthToken"), Value::Bool(true));
        }
        let mut m = BTreeMap::new();
        m.insert(Value::Integer(1), Value::Array(versions));
        m.insert(Value::Integer(3), Value::Bytes(vec![0; 16]));
        m.insert(Value::Integer(4), Value::Map(options));
        m.insert(
            Value::Integer(6),
            Value::Array(
                self.pin_protocols
                    .iter()
                    .map(|p| Value::Integer((*p).into()))
                    .collect(),
            ),
        );
        cbor(m)
    }
}

/// ECDSA signature as DER `SEQUENCE { INTEGER r, INTEGER s }` (WebAuthn's form).
fn der_signature(sig: &Signature) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        let mut v = bytes[start..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let (r, s) = sig.split_bytes();
    let mut body = integer(&r);
    body.extend(integer(&s));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}
