//! The attested key as an OpenSSH public key, so a login key (from sshd's
//! `SSH_AUTH_INFO_0`, an authorized_keys line, or a PKCS#11 token) can be
//! matched to a registered PIV device.

use rsa::pkcs8::DecodePublicKey;
use ssh_key::public::{EcdsaPublicKey, KeyData, RsaPublicKey};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::attestation::Attestation;

/// A SubjectPublicKeyInfo (DER) in OpenSSH form (ECDSA P-256/P-384 or
/// RSA).
pub fn spki_ssh_public_key(spki_der: &[u8]) -> Result<ssh_key::PublicKey, String> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| format!("attested public key does not parse: {e}"))?;
    let data = match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.10045.2.1" => KeyData::Ecdsa(
            EcdsaPublicKey::from_sec1_bytes(&spki.subject_public_key.data)
                .map_err(|e| format!("attested EC key: {e}"))?,
        ),
        "1.2.840.113549.1.1.1" => {
            let key = rsa::RsaPublicKey::from_public_key_der(spki_der)
                .map_err(|e| format!("attested RSA key: {e}"))?;
            KeyData::Rsa(
                RsaPublicKey::try_from(&key).map_err(|e| format!("attested RSA key: {e}"))?,
            )
        }
        other => {
            return Err(format!(
                "attested key algorithm {other} has no OpenSSH form here"
            ))
        }
    };
    Ok(ssh_key::PublicKey::new(data, ""))
}

/// The slot key of a certificate (DER) as sshd names it in
/// `SSH_AUTH_INFO_0`: (key type, base64 blob). Not verified: a lookup key
/// only; the chain is verified when the device is used.
pub fn certificate_ssh_key(cert_der: &[u8]) -> Option<(String, String)> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(cert_der).ok()?;
    let key = spki_ssh_public_key(cert.public_key().raw).ok()?;
    let line = key.to_openssh().ok()?;
    let mut parts = line.split_ascii_whitespace();
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

impl Attestation {
    /// The attested key in OpenSSH form (ECDSA P-256/P-384 or RSA; PIV's
    /// other algorithms have no OpenSSH equivalent here).
    pub fn ssh_public_key(&self) -> Result<ssh_key::PublicKey, String> {
        spki_ssh_public_key(&self.public_key_spki)
    }

    /// Whether `key` (an OpenSSH public key; its comment is ignored) is the
    /// attested key.
    pub fn is_ssh_key(&self, key: &ssh_key::PublicKey) -> bool {
        self.ssh_public_key()
            .map(|k| k.key_data() == key.key_data())
            .unwrap_or(false)
    }
}
