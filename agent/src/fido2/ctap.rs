//! CTAP2 authenticatorGetAssertion messages (CBOR, canonical form: map keys
//! sorted as CTAP2 requires, which is serde_cbor_2's `Value` ordering).

use std::collections::BTreeMap;

use serde_cbor_2::Value;

use super::status::{status_error, STATUS_OK};
use super::{Fido2Error, GetAssertionRequest, GetAssertionResponse};

/// authenticatorGetAssertion command byte.
pub const CMD_GET_ASSERTION: u8 = 0x02;

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The command byte and CBOR parameters of authenticatorGetAssertion.
pub fn encode_get_assertion(req: &GetAssertionRequest) -> Vec<u8> {
    let mut map = BTreeMap::new();
    map.insert(Value::Integer(1), text(&req.rp_id));
    map.insert(
        Value::Integer(2),
        Value::Bytes(req.client_data_hash.to_vec()),
    );
    if !req.allow_credentials.is_empty() {
        let list = req
            .allow_credentials
            .iter()
            .map(|id| {
                let mut d = BTreeMap::new();
                d.insert(text("id"), Value::Bytes(id.clone()));
                d.insert(text("type"), text("public-key"));
                Value::Map(d)
            })
            .collect();
        map.insert(Value::Integer(3), Value::Array(list));
    }
    // With a pinUvAuthParam the `uv` option is left out (CTAP 2.1 §6.2.2:
    // the PIN already verified the user; some keys refuse both).
    if req.user_verification && req.pin_uv_auth.is_none() {
        let mut options = BTreeMap::new();
        options.insert(text("uv"), Value::Bool(true));
        map.insert(Value::Integer(5), Value::Map(options));
    }
    if let Some(auth) = &req.pin_uv_auth {
        map.insert(Value::Integer(6), Value::Bytes(auth.param.clone()));
        map.insert(Value::Integer(7), Value::Integer(auth.protocol.into()));
    }
    let mut out = vec![CMD_GET_ASSERTION];
    out.extend(serde_cbor_2::to_vec(&Value::Map(map)).expect("a CBOR Value always encodes"));
    out
}

/// Reads an authenticatorGetAssertion response: status byte, then CBOR.
pub fn decode_get_assertion_response(
    bytes: &[u8],
    req: &GetAssertionRequest,
) -> Result<GetAssertionResponse, Fido2Error> {
    let (&status, body) = bytes
        .split_first()
        .ok_or_else(|| Fido2Error::Protocol("empty CTAP2 response".into()))?;
    if status != STATUS_OK {
        return Err(status_error(status, req.user_verification));
    }
    let value: Value = serde_cbor_2::from_slice(body)
        .map_err(|e| Fido2Error::Protocol(format!("the getAssertion response is not CBOR: {e}")))?;
    let Value::Map(map) = value else {
        return Err(Fido2Error::Protocol(
            "the getAssertion response is not a CBOR map".into(),
        ));
    };
    let bytes_at = |k: i128, what: &str| match map.get(&Value::Integer(k)) {
        Some(Value::Bytes(b)) => Ok(b.clone()),
        _ => Err(Fido2Error::Protocol(format!(
            "the getAssertion response has no {what}"
        ))),
    };
    let authenticator_data = bytes_at(2, "authenticator data")?;
    let signature = bytes_at(3, "signature")?;
    let credential_id = match map.get(&Value::Integer(1)) {
        Some(Value::Map(cred)) => match cred.get(&text("id")) {
            Some(Value::Bytes(id)) => id.clone(),
            _ => {
                return Err(Fido2Error::Protocol(
                    "the credential in the response has no id".into(),
                ))
            }
        },
        Some(_) => {
            return Err(Fido2Error::Protocol(
                "the credential in the response is not a map".into(),
            ))
        }
        // CTAP2: may be left out when the allow list had exactly one entry
        None if req.allow_credentials.len() == 1 => req.allow_credentials[0].clone(),
        None => {
            return Err(Fido2Error::Protocol(
                "the getAssertion response names no credential".into(),
            ))
        }
    };
    if !req.allow_credentials.is_empty() && !req.allow_credentials.contains(&credential_id) {
        return Err(Fido2Error::Protocol(
            "the key answered with a credential that was not asked for".into(),
        ));
    }
    Ok(GetAssertionResponse {
        credential_id,
        authenticator_data,
        signature,
    })
}

/// The authenticator side (the software authenticator, test fakes): reads
/// the CBOR parameters of a request made by [`encode_get_assertion`]. A
/// pinUvAuthParam without a protocol number reads as protocol 0.
#[cfg(any(test, feature = "soft-fido2"))]
pub fn decode_get_assertion_params(body: &[u8]) -> Result<GetAssertionRequest, String> {
    let Value::Map(map) = serde_cbor_2::from_slice::<Value>(body).map_err(|e| e.to_string())?
    else {
        return Err("not a map".into());
    };
    let rp_id = match map.get(&Value::Integer(1)) {
        Some(Value::Text(t)) => t.clone(),
        _ => return Err("no rpId".into()),
    };
    let client_data_hash = match map.get(&Value::Integer(2)) {
        Some(Value::Bytes(b)) => b.as_slice().try_into().map_err(|_| "hash length")?,
        _ => return Err("no clientDataHash".into()),
    };
    let mut allow_credentials = Vec::new();
    if let Some(Value::Array(list)) = map.get(&Value::Integer(3)) {
        for c in list {
            if let Value::Map(c) = c {
                if let Some(Value::Bytes(id)) = c.get(&text("id")) {
                    allow_credentials.push(id.clone());
                }
            }
        }
    }
    let user_verification = matches!(
        map.get(&Value::Integer(5)),
        Some(Value::Map(o)) if o.get(&text("uv")) == Some(&Value::Bool(true))
    );
    let pin_uv_auth = match map.get(&Value::Integer(6)) {
        Some(Value::Bytes(param)) => Some(super::client_pin::PinUvAuth {
            param: param.clone(),
            protocol: match map.get(&Value::Integer(7)) {
                Some(Value::Integer(n)) => u8::try_from(*n).unwrap_or(0),
                _ => 0,
            },
        }),
        _ => None,
    };
    Ok(GetAssertionRequest {
        rp_id,
        client_data_hash,
        allow_credentials,
        user_verification,
        pin_uv_auth,
    })
}

/// Reads a whole request (command byte and parameters).
#[cfg(test)]
pub fn decode_get_assertion_request(bytes: &[u8]) -> Result<GetAssertionRequest, String> {
    let (&cmd, body) = bytes.split_first().ok_or("empty")?;
    if cmd != CMD_GET_ASSERTION {
        return Err(format!("command 0x{cmd:02x}"));
    }
    decode_get_assertion_params(body)
}

/// The authenticator side (the software authenticator, test fakes).
#[cfg(any(test, feature = "soft-fido2"))]
pub fn encode_get_assertion_response(resp: &GetAssertionResponse) -> Vec<u8> {
    let mut cred = BTreeMap::new();
    cred.insert(text("id"), Value::Bytes(resp.credential_id.clone()));
    cred.insert(text("type"), text("public-key"));
    let mut map = BTreeMap::new();
    map.insert(Value::Integer(1), Value::Map(cred));
    map.insert(
        Value::Integer(2),
        Value::Bytes(resp.authenticator_data.clone()),
    );
    map.insert(Value::Integer(3), Value::Bytes(resp.signature.clone()));
    let mut out = vec![STATUS_OK];
    out.extend(serde_cbor_2::to_vec(&Value::Map(map)).expect("a CBOR Value always encodes"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(allow: Vec<Vec<u8>>, uv: bool) -> GetAssertionRequest {
        GetAssertionRequest {
            rp_id: "example.com".into(),
            client_data_hash: [7; 32],
            allow_credentials: allow,
            user_verification: uv,
            pin_uv_auth: None,
        }
    }

    #[test]
    fn request_is_canonical_cbor() {
        let bytes = encode_get_assertion(&request(vec![vec![1, 2]], true));
        let mut want = vec![0x02, 0xa4, 0x01, 0x6b];
        want.extend(b"example.com");
        want.extend([0x02, 0x58, 0x20]);
        want.extend([7; 32]);
        // 3: [{"id": h'0102', "type": "public-key"}]
        want.extend([0x03, 0x81, 0xa2, 0x62, b'i', b'd', 0x42, 1, 2, 0x64]);
        want.extend(b"type");
        want.push(0x6a);
        want.extend(b"public-key");
        // 5: {"uv": true}
        want.extend([0x05, 0xa1, 0x62, b'u', b'v', 0xf5]);
        assert_eq!(bytes, want);
        assert_eq!(
            decode_get_assertion_request(&bytes).unwrap(),
            request(vec![vec![1, 2]], true)
        );
        let plain = encode_get_assertion(&request(vec![], false));
        assert_eq!(plain[1], 0xa2, "only rpId and clientDataHash");
    }

    #[test]
    fn a_pin_uv_auth_param_replaces_the_uv_option() {
        let mut req = request(vec![], true);
        req.pin_uv_auth = Some(crate::fido2::client_pin::PinUvAuth {
            protocol: 2,
            param: vec![9; 32],
        });
        let bytes = encode_get_assertion(&req);
        assert_eq!(bytes[1], 0xa4, "rpId, clientDataHash, 6 and 7; no options");
        let mut tail = vec![0x06, 0x58, 0x20];
        tail.extend([9; 32]);
        tail.extend([0x07, 0x02]);
        assert!(bytes.ends_with(&tail), "{bytes:02x?}");
        let back = decode_get_assertion_request(&bytes).unwrap();
        assert_eq!(back.pin_uv_auth, req.pin_uv_auth);
        assert!(!back.user_verification);
    }

    #[test]
    fn response_round_trip_and_omitted_credential() {
        let resp = GetAssertionResponse {
            credential_id: vec![1, 2],
            authenticator_data: vec![9; 37],
            signature: vec![3; 70],
        };
        let req = request(vec![vec![1, 2]], false);
        assert_eq!(
            decode_get_assertion_response(&encode_get_assertion_response(&resp), &req).unwrap(),
            resp
        );

        // no credential (1) in the map: the single allowed one
        let mut map = BTreeMap::new();
        map.insert(Value::Integer(2), Value::Bytes(vec![9; 37]));
        map.insert(Value::Integer(3), Value::Bytes(vec![3; 70]));
        let mut bytes = vec![0];
        bytes.extend(serde_cbor_2::to_vec(&Value::Map(map)).unwrap());
        assert_eq!(decode_get_assertion_response(&bytes, &req).unwrap(), resp);
        assert!(matches!(
            decode_get_assertion_response(&bytes, &request(vec![], false)),
            Err(Fido2Error::Protocol(_))
        ));

        // a credential that was not asked for
        let other = request(vec![vec![5]], false);
        assert!(matches!(
            decode_get_assertion_response(&encode_get_assertion_response(&resp), &other),
            Err(Fido2Error::Protocol(_))
        ));
    }

    #[test]
    fn status_codes() {
        let req = request(vec![], true);
        assert_eq!(
            decode_get_assertion_response(&[0x2e], &req),
            Err(Fido2Error::NoCredentials)
        );
        assert_eq!(
            decode_get_assertion_response(&[0x27], &req),
            Err(Fido2Error::Denied)
        );
        assert!(matches!(
            decode_get_assertion_response(&[0x36], &req),
            Err(Fido2Error::UserVerificationUnavailable(_))
        ));
        assert!(matches!(
            decode_get_assertion_response(&[0x2b], &req),
            Err(Fido2Error::UserVerificationUnavailable(_))
        ));
        assert_eq!(
            decode_get_assertion_response(&[0x2b], &request(vec![], false)),
            Err(Fido2Error::Ctap(0x2b))
        );
        assert!(matches!(
            decode_get_assertion_response(&[], &req),
            Err(Fido2Error::Protocol(_))
        ));
        assert!(matches!(
            decode_get_assertion_response(&[0, 0xff], &req),
            Err(Fido2Error::Protocol(_))
        ));
    }
}
