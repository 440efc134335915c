//! Legacy U2F devices: Teleport keeps their public key as DER
//! (SubjectPublicKeyInfo of a P-256 key) and turns it into a COSE_Key to
//! verify (`lib/auth/webauthn` `u2fDERKeyToCBOR`); so does this.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_cbor_2::Value;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::WebauthnError;

/// id-ecPublicKey.
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// prime256v1 (P-256).
const OID_P256: &str = "1.2.840.10045.3.1.7";

/// The COSE_Key (EC2, ES256, P-256) of a U2F device's DER public key. The
/// point is checked to be on the curve.
pub fn u2f_public_key_to_cose(der: &[u8]) -> Result<Vec<u8>, WebauthnError> {
    let bad = |why: &str| WebauthnError::BadPublicKey(format!("U2F public key: {why}"));
    let (rest, spki) = SubjectPublicKeyInfo::from_der(der).map_err(|_| bad("not DER"))?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the key"));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    if spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY
        || curve.as_deref() != Some(OID_P256)
    {
        return Err(bad("not an ECDSA P-256 key"));
    }
    let point = spki.subject_public_key.data.as_ref();
    let key = p256::PublicKey::from_sec1_bytes(point).map_err(|_| bad("not a P-256 point"))?;
    let uncompressed = key.to_encoded_point(false);
    let (Some(x), Some(y)) = (uncompressed.x(), uncompressed.y()) else {
        return Err(bad("not a P-256 point"));
    };
    let map = [
        (1, Value::Integer(2)),  // kty: EC2
        (3, Value::Integer(-7)), // alg: ES256
        (-1, Value::Integer(1)), // crv: P-256
        (-2, Value::Bytes(x.to_vec())),
        (-3, Value::Bytes(y.to_vec())),
    ]
    .into_iter()
    .map(|(k, v)| (Value::Integer(k), v))
    .collect();
    serde_cbor_2::to_vec(&Value::Map(map)).map_err(|e| bad(&e.to_string()))
}
