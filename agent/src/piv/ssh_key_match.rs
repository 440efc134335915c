//! The attested key as an OpenSSH public key, so a login key (from sshd's
//! `SSH_AUTH_INFO_0`, an authorized_keys line, or a PKCS#11 token) can be
//! matched to a registered PIV device.

use rsa::pkcs8::DecodePublicKey;
use ssh_key::public::{EcdsaPublicKey, KeyData, RsaPublicKey};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::attestation::Attestation;

impl Attestation {
    /// The attested key in OpenSSH form (ECDSA P-256/P-384 or RSA; PIV's
    /// other algorithms have no OpenSSH equivalent here).
    pub fn ssh_public_key(&self) -> Result<ssh_key::PublicKey, String> {
        let (_, spki) = SubjectPublicKeyInfo::from_der(&self.public_key_spki)
            .map_err(|e| format!("attested public key does not parse: {e}"))?;
        let data = match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.2.840.10045.2.1" => KeyData::Ecdsa(
                EcdsaPublicKey::from_sec1_bytes(&spki.subject_public_key.data)
                    .map_err(|e| format!("attested EC key: {e}"))?,
            ),
            "1.2.840.113549.1.1.1" => {
                let key = rsa::RsaPublicKey::from_public_key_der(&self.public_key_spki)
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

    /// Whether `key` (an OpenSSH public key; its comment is ignored) is the
    /// attested key.
    pub fn is_ssh_key(&self, key: &ssh_key::PublicKey) -> bool {
        self.ssh_public_key()
            .map(|k| k.key_data() == key.key_data())
            .unwrap_or(false)
    }
}
