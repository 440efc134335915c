//! CTAP2 authenticatorMakeCredential (command 0x01): the request
//! `mfactl enroll --webauthn` sends and the attestation it gets back.

use std::collections::BTreeMap;

use serde_cbor_2::Value;

use super::status::{status_error, STATUS_OK};
use super::Fido2Error;

pub const CMD_MAKE_CREDENTIAL: u8 = 0x01;

/// authenticatorMakeCredential, as far as enrollment needs it: one ES256
/// credential, not discoverable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeCredentialRequest {
    pub rp_id: String,
    /// SHA-256 of the clientDataJSON (`webauthn.create`).
    pub client_data_hash: [u8; 32],
    /// The WebAuthn user handle.
    pub user_id: Vec<u8>,
    /// The account name shown by keys with a display.
    pub user_name: String,
    /// Ask for built-in user verification as well as presence. Not set
    /// with `pin_uv_auth`.
    pub user_verification: bool,
    /// User verification by PIN: pinUvAuthParam over the client data hash
    /// with a token carrying the makeCredential permission.
    pub pin_uv_auth: Option<super::client_pin::PinUvAuth>,
}

/// The authenticator's answer: attestation statement format, the
/// authenticator data (with the attested credential) and the statement.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeCredentialResponse {
    pub fmt: String,
    pub auth_data: Vec<u8>,
    /// `attStmt`, a CBOR map.
    pub att_stmt: Value,
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The command byte and CBOR parameters.
pub fn encode_make_credential(req: &MakeCredentialRequest) -> Vec<u8> {
    let mut rp = BTreeMap::new();
    rp.insert(text("id"), text(&req.rp_id));
    let mut user = BTreeMap::new();
    user.insert(text("id"), Value::Bytes(req.user_id.clone()));
    user.insert(text("name"), text(&req.user_name));
    user.insert(text("displayName"), text(&req.user_name));
    let mut param = BTreeMap::new();
    param.insert(text("alg"), Value::Integer(-7));
    param.insert(text("type"), text("public-key"));
    let mut map = BTreeMap::new();
    map.insert(
        Value::Integer(1),
        Value::Bytes(req.client_data_hash.to_vec()),
    );
    map.insert(Value::Integer(2), Value::Map(rp));
    map.insert(Value::Integer(3), Value::Map(user));
    map.insert(Value::Integer(4), Value::Array(vec![Value::Map(param)]));
    let mut options = BTreeMap::new();
    options.insert(text("rk"), Value::Bool(false));
    // With a pinUvAuthParam the `uv` option is left out (CTAP 2.1 §6.1.2).
    if req.user_verification && req.pin_uv_auth.is_none() {
        options.insert(text("uv"), Value::Bool(true));
    }
    map.insert(Value::Integer(7), Value::Map(options));
    if let Some(auth) = &req.pin_uv_auth {
        map.insert(Value::Integer(8), Value::Bytes(auth.param.clone()));
        map.insert(Value::Integer(9), Value::Integer(auth.protocol.into()));
    }
    let mut out = vec![CMD_MAKE_CREDENTIAL];
    out.extend(serde_cbor_2::to_vec(&Value::Map(map)).expect("a CBOR Value always encodes"));
    out
}

/// Reads the request back (the software authenticator's side).
pub fn decode_make_credential_request(bytes: &[u8]) -> Result<MakeCredentialRequest, String> {
    let (&cmd, body) = bytes.split_first().ok_or("empty request")?;
    if cmd != CMD_MAKE_CREDENTIAL {
        return Err(format!("command 0x{cmd:02x} is not makeCredential"));
    }
    let Value::Map(map) = serde_cbor_2::from_slice(body).map_err(|e| e.to_string())? else {
        return Err("not a CBOR map".into());
    };
    let get = |k: i128| map.get(&Value::Integer(k));
    let field = |m: &BTreeMap<Value, Value>, k: &str| m.get(&text(k)).cloned();
    let client_data_hash: [u8; 32] = match get(1) {
        Some(Value::Bytes(b)) => b
            .clone()
            .try_into()
            .map_err(|_| "clientDataHash is not 32 bytes")?,
        _ => return Err("no clientDataHash".into()),
    };
    let rp_id = match get(2) {
        Some(Value::Map(rp)) => match field(rp, "id") {
            Some(Value::Text(t)) => t,
            _ => return Err("no rp.id".into()),
        },
        _ => return Err("no rp".into()),
    };
    let (user_id, user_name) = match get(3) {
        Some(Value::Map(u)) => match (field(u, "id"), field(u, "name")) {
            (Some(Value::Bytes(id)), Some(Value::Text(n))) => (id, n),
            _ => return Err("user needs id and name".into()),
        },
        _ => return Err("no user".into()),
    };
    let es256 = match get(4) {
        Some(Value::Array(a)) => a.iter().any(
            |p| matches!(p, Value::Map(m) if m.get(&text("alg")) == Some(&Value::Integer(-7))),
        ),
        _ => false,
    };
    if !es256 {
        return Err("ES256 not among pubKeyCredParams".into());
    }
    let user_verification =
        matches!(get(7), Some(Value::Map(o)) if o.get(&text("uv")) == Some(&Value::Bool(true)));
    let pin_uv_auth = match get(8) {
        Some(Value::Bytes(param)) => Some(super::client_pin::PinUvAuth {
            param: param.clone(),
            protocol: match get(9) {
                Some(Value::Integer(n)) => u8::try_from(*n).unwrap_or(0),
                _ => 0,
            },
        }),
        _ => None,
    };
    Ok(MakeCredentialRequest {
        rp_id,
        client_data_hash,
        user_id,
        user_name,
        user_verification,
        pin_uv_auth,
    })
}

/// Status byte then `{1: fmt, 2: authData, 3: attStmt}`.
pub fn encode_make_credential_response(resp: &MakeCredentialResponse) -> Vec<u8> {
    let mut map = BTreeMap::new();
    map.insert(Value::Integer(1), text(&resp.fmt));
    map.insert(Value::Integer(2), Value::Bytes(resp.auth_data.clone()));
    map.insert(Value::Integer(3), resp.att_stmt.clone());
    let mut out = vec![STATUS_OK];
    out.extend(serde_cbor_2::to_vec(&Value::Map(map)).expect("a CBOR Value always encodes"));
    out
}

/// Reads the status byte and the response.
pub fn decode_make_credential_response(
    bytes: &[u8],
    req: &MakeCredentialRequest,
) -> Result<MakeCredentialResponse, Fido2Error> {
    let (&status, body) = bytes
        .split_first()
        .ok_or_else(|| Fido2Error::Protocol("empty CTAP2 response".into()))?;
    if status != STATUS_OK {
        return Err(status_error(status, req.user_verification));
    }
    let bad = |why: &str| Fido2Error::Protocol(format!("the makeCredential response {why}"));
    let Value::Map(map) = serde_cbor_2::from_slice(body).map_err(|_| bad("is not CBOR"))? else {
        return Err(bad("is not a CBOR map"));
    };
    let fmt = match map.get(&Value::Integer(1)) {
        Some(Value::Text(t)) => t.clone(),
        _ => return Err(bad("has no fmt")),
    };
    let auth_data = match map.get(&Value::Integer(2)) {
        Some(Value::Bytes(b)) => b.clone(),
        _ => return Err(bad("has no authData")),
    };
    let att_stmt = match map.get(&Value::Integer(3)) {
        Some(v @ Value::Map(_)) => v.clone(),
        _ => return Err(bad("has no attStmt map")),
    };
    Ok(MakeCredentialResponse {
        fmt,
        auth_data,
        att_stmt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> MakeCredentialRequest {
        MakeCredentialRequest {
            rp_id: "example.com".into(),
            client_data_hash: [7; 32],
            user_id: vec![1, 2, 3],
            user_name: "jerry".into(),
            user_verification: true,
            pin_uv_auth: None,
        }
    }

    #[test]
    fn a_pin_uv_auth_param_replaces_the_uv_option() {
        let mut r = req();
        r.pin_uv_auth = Some(crate::fido2::client_pin::PinUvAuth {
            protocol: 2,
            param: vec![5; 32],
        });
        let bytes = encode_make_credential(&r);
        let back = decode_make_credential_request(&bytes).unwrap();
        assert_eq!(back.pin_uv_auth, r.pin_uv_auth);
        assert!(
            !back.user_verification,
            "no uv option beside pinUvAuthParam"
        );
    }

    #[test]
    fn request_round_trips() {
        let r = req();
        let bytes = encode_make_credential(&r);
        assert_eq!(bytes[0], 0x01);
        assert_eq!(decode_make_credential_request(&bytes).unwrap(), r);
        let mut no_uv = r.clone();
        no_uv.user_verification = false;
        assert_eq!(
            decode_make_credential_request(&encode_make_credential(&no_uv)).unwrap(),
            no_uv
        );
    }

    #[test]
    fn response_round_trips_and_errors_are_mapped() {
        let resp = MakeCredentialResponse {
            fmt: "packed".into(),
            auth_data: vec![1; 40],
            att_stmt: Value::Map(BTreeMap::new()),
        };
        let bytes = encode_make_credential_response(&resp);
        assert_eq!(
            decode_make_credential_response(&bytes, &req()).unwrap(),
            resp
        );
        assert_eq!(
            decode_make_credential_response(&[0x27], &req()).unwrap_err(),
            Fido2Error::Denied
        );
        assert!(decode_make_credential_response(&[0x00, 0xa0], &req()).is_err());
    }
}
