//! Verifying a WebAuthn registration (CTAP2 makeCredential's answer) as a
//! relying party does: the authenticator data (rp_id hash, flags, the
//! attested credential) and the `packed` attestation statement, then the
//! cap's `webauthn.attestation_allowed_cas` / `attestation_denied_cas`.
//!
//! CA lists are Teleport's: each entry a file path or an inline PEM. With
//! allowed CAs set, the attestation certificate must chain to one of them;
//! a chain to a denied CA is refused whatever else holds. Only signatures
//! are checked, not validity dates (as for PIV attestation; authenticator
//! attestation certificates often outlive their stated dates).

use p256::ecdsa::signature::Verifier as _;
use serde_cbor_2::Value;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::webauthn::{
    verify_with_cose_key, FLAG_ATTESTED_DATA, FLAG_BACKUP_ELIGIBLE, FLAG_USER_PRESENT,
    FLAG_USER_VERIFIED,
};
use crate::fido2::MakeCredentialResponse;
use crate::piv::signature::verify_signed_by;

/// Certificates accepted in `x5c` (leaf and intermediates).
pub const MAX_X5C: usize = 4;

/// A registration that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub credential_id: Vec<u8>,
    /// The credential's COSE_Key.
    pub public_key_cose: Vec<u8>,
    pub aaguid: [u8; 16],
    pub counter: u32,
    pub user_verified: bool,
    /// The BE flag at registration: what Teleport's `RegistrationFlow.Finish`
    /// records as `credentialBackupEligible`, and every later assertion of
    /// the credential must repeat (go-webauthn `validateLogin`).
    pub backup_eligible: bool,
    /// `packed` with a certificate (`basic`), `self`, or `none`.
    pub attestation_type: String,
    /// Subject of the CA the attestation chained to (allowed list), if any.
    pub attested_by: Option<String>,
}

/// The cap's attestation CA lists, loaded.
#[derive(Debug, Clone, Default)]
pub struct AttestationCas {
    pub allowed: Vec<(String, Vec<u8>)>,
    pub denied: Vec<(String, Vec<u8>)>,
}

fn load_entry(entry: &str, field: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let (text, origin) = if entry.trim_start().starts_with("-----BEGIN") {
        (entry.to_owned(), format!("{field}: inline PEM"))
    } else {
        let t = std::fs::read_to_string(entry).map_err(|e| format!("{field}: {entry}: {e}"))?;
        (t, format!("{field}: {entry}"))
    };
    let ders = crate::piv::pem::certificates(&text).map_err(|e| format!("{origin}: {e}"))?;
    if ders.is_empty() {
        return Err(format!("{origin}: no PEM certificate"));
    }
    ders.into_iter()
        .map(|d| match X509Certificate::from_der(&d) {
            Ok((_, c)) => Ok((c.subject().to_string(), d.clone())),
            Err(e) => Err(format!("{origin}: a certificate does not parse: {e}")),
        })
        .collect()
}

impl AttestationCas {
    /// Reads `webauthn.attestation_allowed_cas` and `attestation_denied_cas`
    /// from the cap's raw `webauthn` block (a file that cannot be read is an
    /// error: failing closed).
    pub fn from_cap(raw_webauthn: &serde_json::Value) -> Result<AttestationCas, String> {
        let mut out = AttestationCas::default();
        for (field, list) in [
            ("attestation_allowed_cas", &mut out.allowed),
            ("attestation_denied_cas", &mut out.denied),
        ] {
            match raw_webauthn.get(field) {
                None | Some(serde_json::Value::Null) => {}
                Some(serde_json::Value::Array(items)) => {
                    for it in items {
                        let s = it.as_str().ok_or_else(|| {
                            format!("cap webauthn.{field}: every item must be a string")
                        })?;
                        list.extend(load_entry(s, &format!("cap webauthn.{field}"))?);
                    }
                }
                Some(_) => return Err(format!("cap webauthn.{field} must be a list")),
            }
        }
        Ok(out)
    }
}

fn err(s: impl Into<String>) -> String {
    s.into()
}

/// Splits authenticator data with an attested credential:
/// (flags, counter, aaguid, credential id, COSE key).
type Parsed = (u8, u32, [u8; 16], Vec<u8>, Vec<u8>);

fn parse_auth_data(ad: &[u8], rp_id: &str) -> Result<Parsed, String> {
    if ad.len() < 37 + 18 {
        return Err(err(
            "authenticator data too short for an attested credential",
        ));
    }
    if ad[..32] != Sha256::digest(rp_id.as_bytes())[..] {
        return Err(format!(
            "the credential was made for another relying party than {rp_id:?}"
        ));
    }
    let flags = ad[32];
    if flags & FLAG_ATTESTED_DATA == 0 {
        return Err(err("no attested credential data in the authenticator data"));
    }
    let counter = u32::from_be_bytes(ad[33..37].try_into().expect("4 bytes"));
    let aaguid: [u8; 16] = ad[37..53].try_into().expect("16 bytes");
    let id_len = usize::from(u16::from_be_bytes([ad[53], ad[54]]));
    let id_end = 55 + id_len;
    if id_len == 0 || ad.len() <= id_end {
        return Err(err("the credential id runs past the authenticator data"));
    }
    let credential_id = ad[55..id_end].to_vec();
    let rest = &ad[id_end..];
    let mut de = serde_cbor_2::Deserializer::from_slice(rest);
    let _: Value = serde::Deserialize::deserialize(&mut de)
        .map_err(|e| format!("the credential public key is not CBOR: {e}"))?;
    let key_len = de.byte_offset();
    if key_len != rest.len() {
        // Extensions (flag 0x80) would follow; none are asked for.
        return Err(err("unexpected data after the credential public key"));
    }
    Ok((
        flags,
        counter,
        aaguid,
        credential_id,
        rest[..key_len].to_vec(),
    ))
}

/// Whether the chain `x5c[0] <- x5c[1] <- ...` reaches `ca` (equal to one of
/// its certificates, or one of them is signed by it).
fn chains_to(certs: &[X509Certificate<'_>], ders: &[Vec<u8>], ca_der: &[u8]) -> bool {
    let Ok((_, ca)) = X509Certificate::from_der(ca_der) else {
        return false;
    };
    for i in 0..certs.len() {
        if i > 0 && verify_signed_by(&certs[i - 1], certs[i].public_key()).is_err() {
            return false;
        }
        if ders[i] == ca_der {
            return true;
        }
        if certs[i].issuer().as_raw() == ca.subject().as_raw()
            && verify_signed_by(&certs[i], ca.public_key()).is_ok()
        {
            return true;
        }
    }
    false
}

/// Verifies `resp` for `rp_id` and `client_data_hash` under `cas`. `Err` is
/// the reason to refuse the key.
pub fn verify_registration(
    resp: &MakeCredentialResponse,
    rp_id: &str,
    client_data_hash: &[u8; 32],
    cas: &AttestationCas,
) -> Result<Registration, String> {
    let (flags, counter, aaguid, credential_id, public_key_cose) =
        parse_auth_data(&resp.auth_data, rp_id)?;
    if flags & FLAG_USER_PRESENT == 0 {
        return Err(err(
            "the authenticator did not register with user presence (no touch)",
        ));
    }
    let mut signed = resp.auth_data.clone();
    signed.extend_from_slice(client_data_hash);
    let (attestation_type, x5c) = match resp.fmt.as_str() {
        "packed" => verify_packed(&resp.att_stmt, &signed, &public_key_cose, &aaguid)?,
        "none" => ("none".to_owned(), None),
        other => {
            return Err(format!(
                "attestation format {other:?} is not supported (packed or none)"
            ))
        }
    };
    let attested_by = check_attestation_cas(x5c.as_deref(), &attestation_type, cas)?;
    Ok(Registration {
        credential_id,
        public_key_cose,
        aaguid,
        counter,
        user_verified: flags & FLAG_USER_VERIFIED != 0,
        backup_eligible: flags & FLAG_BACKUP_ELIGIBLE != 0,
        attestation_type,
        attested_by,
    })
}

/// An attestation's type (`basic`, `self`, `none`) and, for `basic`, its
/// certificate chain (DER, leaf first).
type Attestation = (String, Option<Vec<Vec<u8>>>);

/// A `packed` attestation statement over `signed` (authenticator data and
/// client data hash): ES256 only; with `x5c`, basic attestation by its leaf
/// (the chain returned), else self attestation by the new credential's key.
fn verify_packed(
    att_stmt: &Value,
    signed: &[u8],
    public_key_cose: &[u8],
    aaguid: &[u8; 16],
) -> Result<Attestation, String> {
    let Value::Map(stmt) = att_stmt else {
        return Err(err("packed attestation statement is not a map"));
    };
    let get = |k: &str| stmt.get(&Value::Text(k.into()));
    if get("alg") != Some(&Value::Integer(-7)) {
        return Err(err("packed attestation: only ES256 (alg -7) is accepted"));
    }
    let Some(Value::Bytes(sig)) = get("sig") else {
        return Err(err("packed attestation has no sig"));
    };
    match get("x5c") {
        Some(Value::Array(items)) => {
            let ders = verify_packed_basic(items, sig, signed, aaguid)?;
            Ok(("basic".to_owned(), Some(ders)))
        }
        None => {
            verify_with_cose_key(public_key_cose, sig, signed)
                .map_err(|e| format!("self attestation does not verify: {e}"))?;
            Ok(("self".to_owned(), None))
        }
        Some(_) => Err(err("x5c is not a list")),
    }
}

/// Basic attestation: `sig` over `signed` by the key of the first `x5c`
/// certificate, whose AAGUID extension (if any) names `aaguid`. Returns the
/// chain's DER certificates.
fn verify_packed_basic(
    items: &[Value],
    sig: &[u8],
    signed: &[u8],
    aaguid: &[u8; 16],
) -> Result<Vec<Vec<u8>>, String> {
    let ders: Vec<Vec<u8>> = items
        .iter()
        .map(|v| match v {
            Value::Bytes(b) => Ok(b.clone()),
            _ => Err(err("x5c holds something other than a certificate")),
        })
        .collect::<Result<_, _>>()?;
    if ders.is_empty() || ders.len() > MAX_X5C {
        return Err(format!(
            "x5c holds {} certificates (1..{MAX_X5C})",
            ders.len()
        ));
    }
    let (_, leaf) = X509Certificate::from_der(&ders[0])
        .map_err(|e| format!("the attestation certificate does not parse: {e}"))?;
    let key =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&leaf.public_key().subject_public_key.data)
            .map_err(|_| err("the attestation certificate's key is not P-256"))?;
    let sig = p256::ecdsa::Signature::from_der(sig)
        .map_err(|_| err("packed attestation sig is not a DER ECDSA signature"))?;
    key.verify(signed, &sig).map_err(|_| {
        err("the attestation signature does not verify under the attestation certificate")
    })?;
    check_aaguid_extension(&leaf, aaguid)?;
    Ok(ders)
}

/// The cap's attestation CAs against the chain `x5c` (None: no
/// certificate, `attestation_type` says which attestation it was): with
/// either list set, a certificate is required (Teleport's
/// `verifyAttestation` refuses `none` and self attestation then); a chain
/// to a denied CA is refused; with allowed CAs, the chain must reach one
/// (its name is returned).
fn check_attestation_cas(
    x5c: Option<&[Vec<u8>]>,
    attestation_type: &str,
    cas: &AttestationCas,
) -> Result<Option<String>, String> {
    let Some(ders) = x5c else {
        let set = match (cas.allowed.is_empty(), cas.denied.is_empty()) {
            (true, true) => return Ok(None),
            (false, _) => "attestation_allowed_cas",
            (true, false) => "attestation_denied_cas",
        };
        return Err(format!(
            "the key gave {attestation_type} attestation, no certificate; with {set} set the cluster requires one"
        ));
    };
    let certs: Vec<X509Certificate<'_>> = ders
        .iter()
        .map(|d| X509Certificate::from_der(d).map(|(_, c)| c))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("an x5c certificate does not parse: {e}"))?;
    if let Some((name, _)) = cas
        .denied
        .iter()
        .find(|(_, ca)| chains_to(&certs, ders, ca))
    {
        return Err(format!(
            "the attestation chains to {name}, a denied CA (attestation_denied_cas)"
        ));
    }
    if cas.allowed.is_empty() {
        return Ok(None);
    }
    let (name, _) = cas
        .allowed
        .iter()
        .find(|(_, ca)| chains_to(&certs, ders, ca))
        .ok_or_else(|| {
            format!(
                "the attestation (issuer {}) chains to none of the attestation_allowed_cas",
                certs[0].issuer()
            )
        })?;
    Ok(Some(name.clone()))
}

/// The FIDO AAGUID extension (1.3.6.1.4.1.45724.1.1.4), when present, must
/// name the authenticator data's AAGUID.
fn check_aaguid_extension(leaf: &X509Certificate<'_>, aaguid: &[u8; 16]) -> Result<(), String> {
    for ext in leaf.extensions() {
        if ext.oid.to_id_string() == "1.3.6.1.4.1.45724.1.1.4" {
            // An OCTET STRING wrapping the 16 bytes.
            let v = ext.value;
            let inner = match v {
                [0x04, 16, rest @ ..] if rest.len() == 16 => rest,
                _ => {
                    return Err(err(
                        "the attestation certificate's AAGUID extension is malformed",
                    ))
                }
            };
            if inner != aaguid {
                return Err(err(
                    "the attestation certificate names another AAGUID than the authenticator data",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lib/auth/webauthn/attestation.go `verifyAttestation`: either list
    /// set, a key that gives no certificate is refused.
    #[test]
    fn no_certificate_is_refused_when_either_list_is_set() {
        let ca = || vec![("ca".to_owned(), vec![0u8])];
        assert_eq!(
            check_attestation_cas(None, "none", &AttestationCas::default()),
            Ok(None)
        );
        for cas in [
            AttestationCas {
                allowed: ca(),
                denied: Vec::new(),
            },
            AttestationCas {
                allowed: Vec::new(),
                denied: ca(),
            },
        ] {
            let err = check_attestation_cas(None, "none", &cas).unwrap_err();
            assert!(err.contains("no certificate"), "{err}");
        }
    }
}
