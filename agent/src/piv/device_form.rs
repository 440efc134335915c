//! The `piv` form of `mfa_device`: a PIV key's attestation chain, kept as DER
//! when the bundle loads and verified against the agent's roots when used
//! (`crate::piv`), so loading a policy never depends on agent.yaml.

use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{pem, PivSlot};

/// `spec.piv`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PivDevice {
    /// `slot`: when given, the attested slot must be this one.
    pub slot: Option<PivSlot>,
    /// The chain, DER, leaf first: slot certificate, F9 attestation
    /// certificate, then any intermediates.
    pub chain: Vec<Vec<u8>>,
    /// SHA-256 over the chain (length-prefixed DER, in order).
    pub chain_sha256: [u8; 32],
    /// The slot certificate's key as sshd names it in `SSH_AUTH_INFO_0`
    /// (key type, base64 blob), when it has an OpenSSH form: what a login
    /// key is matched against (not verified here).
    pub ssh_key: Option<(String, String)>,
    /// SHA-256 of the slot certificate's SubjectPublicKeyInfo: the key, for
    /// "one device per key" (not verified here either).
    pub key_sha256: [u8; 32],
}

fn pem_texts(v: &Value, field: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("piv.{field}: every item must be a PEM string"))
            })
            .collect(),
        _ => Err(format!(
            "piv.{field} must be a PEM string or a list of them"
        )),
    }
}

fn certs(texts: &[String], field: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for t in texts {
        let ders = pem::certificates(t).map_err(|e| format!("piv.{field}: {e}"))?;
        if ders.is_empty() {
            return Err(format!("piv.{field}: no PEM certificate"));
        }
        out.extend(ders);
    }
    Ok(out)
}

impl PivDevice {
    /// Reads `{slot?, attestation_chain}` or `{slot?, slot_certificate,
    /// attestation_certificate, intermediates?}`.
    pub fn parse(v: &Value) -> Result<PivDevice, String> {
        let obj = v.as_object().ok_or("piv must be a mapping")?;
        let slot = match obj.get("slot") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(PivSlot::parse(s).map_err(|e| format!("piv.slot: {e}"))?)
            }
            Some(x) => return Err(format!("piv.slot must be a string such as \"9c\", not {x}")),
        };
        let split = [
            "slot_certificate",
            "attestation_certificate",
            "intermediates",
        ]
        .iter()
        .any(|k| obj.contains_key(*k));
        let chain = match (obj.get("attestation_chain"), split) {
            (Some(_), true) => {
                return Err("piv: give attestation_chain, or slot_certificate and attestation_certificate, not both".into())
            }
            (Some(c), false) => certs(&pem_texts(c, "attestation_chain")?, "attestation_chain")?,
            (None, true) => {
                let mut chain = Vec::new();
                for field in ["slot_certificate", "attestation_certificate"] {
                    let v = obj.get(field).ok_or_else(|| format!("piv.{field} is missing"))?;
                    let one = certs(&pem_texts(v, field)?, field)?;
                    if one.len() != 1 {
                        return Err(format!("piv.{field} must hold one certificate, not {}", one.len()));
                    }
                    chain.extend(one);
                }
                if let Some(v) = obj.get("intermediates") {
                    chain.extend(certs(&pem_texts(v, "intermediates")?, "intermediates")?);
                }
                chain
            }
            (None, false) => {
                return Err("piv needs attestation_chain (slot certificate first), or slot_certificate and attestation_certificate".into())
            }
        };
        if chain.len() < 2 {
            return Err("piv.attestation_chain needs the slot certificate and the F9 attestation certificate".into());
        }
        let mut h = Sha256::new();
        let mut key_sha256 = [0u8; 32];
        for (i, der) in chain.iter().enumerate() {
            match X509Certificate::from_der(der) {
                Ok(([], cert)) => {
                    if i == 0 {
                        key_sha256 = Sha256::digest(cert.public_key().raw).into();
                    }
                }
                _ => {
                    return Err(format!(
                        "piv: certificate {} of the chain is not an X.509 certificate",
                        i + 1
                    ))
                }
            }
            h.update((der.len() as u64).to_be_bytes());
            h.update(der);
        }
        let ssh_key = super::ssh_key_match::certificate_ssh_key(&chain[0]);
        Ok(PivDevice {
            slot,
            ssh_key,
            key_sha256,
            chain,
            chain_sha256: h.finalize().into(),
        })
    }
}
