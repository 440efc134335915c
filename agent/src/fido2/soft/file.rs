//! The software authenticator's file: JSON with its key, counter, PIN
//! state and test attestation; read, and written back atomically (mode
//! 0600) after each assertion.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{SoftAuthenticator, MAX_PIN_RETRIES};
use crate::fido2::Fido2Error;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SoftFile {
    rp_id: String,
    credential_id: String,
    private_key: String,
    counter: u32,
    #[serde(default = "yes")]
    user_present: bool,
    #[serde(default = "yes")]
    user_verification: bool,
    #[serde(default = "yes")]
    discoverable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pin: Option<String>,
    #[serde(default = "max_retries")]
    pin_retries: u8,
    #[serde(default = "both_protocols")]
    pin_protocols: Vec<u8>,
    /// base64url of the P-256 scalar of a test attestation key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attestation_key: Option<String>,
    /// Its certificate chain, leaf first, each standard base64 DER.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attestation_x5c: Vec<String>,
}

fn max_retries() -> u8 {
    MAX_PIN_RETRIES
}

pub(super) fn both_protocols() -> Vec<u8> {
    vec![2, 1]
}

fn yes() -> bool {
    true
}

impl SoftAuthenticator {
    /// Reads an authenticator saved by [`Self::save`]; it saves its counter
    /// back to `path` after each assertion.
    pub fn from_file(path: &Path) -> Result<SoftAuthenticator, Fido2Error> {
        let what =
            |e: String| Fido2Error::Io(format!("software authenticator {}: {e}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| what(e.to_string()))?;
        let f: SoftFile = serde_json::from_str(&text).map_err(|e| what(e.to_string()))?;
        let credential_id = URL_SAFE_NO_PAD
            .decode(&f.credential_id)
            .map_err(|_| what("credential_id is not base64url".into()))?;
        let scalar: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&f.private_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| what("private_key is not 32 bytes of base64url".into()))?;
        let key = SigningKey::from_bytes(&scalar.into())
            .map_err(|_| what("private_key is not a P-256 scalar".into()))?;
        if credential_id.is_empty() || f.rp_id.is_empty() {
            return Err(what("empty rp_id or credential_id".into()));
        }
        let mut a = SoftAuthenticator::with(&f.rp_id, credential_id, key);
        a.counter = f.counter;
        a.user_present = f.user_present;
        a.user_verification = f.user_verification && f.pin.is_none();
        a.discoverable = f.discoverable;
        a.pin = f.pin.map(Zeroizing::new);
        a.pin_retries = f.pin_retries;
        a.pin_protocols = f.pin_protocols;
        a.path = Some(path.to_path_buf());
        if let Some(k) = &f.attestation_key {
            let scalar: [u8; 32] = URL_SAFE_NO_PAD
                .decode(k)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| what("attestation_key is not 32 bytes of base64url".into()))?;
            let key = SigningKey::from_bytes(&scalar.into())
                .map_err(|_| what("attestation_key is not a P-256 scalar".into()))?;
            let x5c = f
                .attestation_x5c
                .iter()
                .map(|c| STANDARD.decode(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| what("attestation_x5c holds something not base64".into()))?;
            if x5c.is_empty() {
                return Err(what("attestation_key without attestation_x5c".into()));
            }
            a.attestation = Some((key, x5c));
        }
        Ok(a)
    }

    /// Writes the authenticator (private key included) to `path`, mode 0600,
    /// replacing the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), Fido2Error> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let f = SoftFile {
            rp_id: self.rp_id.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(&self.credential_id),
            private_key: URL_SAFE_NO_PAD.encode(self.key.to_bytes()),
            counter: self.counter,
            user_present: self.user_present,
            user_verification: self.user_verification,
            discoverable: self.discoverable,
            pin: self.pin.as_ref().map(|p| p.to_string()),
            pin_retries: self.pin_retries,
            pin_protocols: self.pin_protocols.clone(),
            attestation_key: self
                .attestation
                .as_ref()
                .map(|(k, _)| URL_SAFE_NO_PAD.encode(k.to_bytes())),
            attestation_x5c: self
                .attestation
                .iter()
                .flat_map(|(_, x5c)| x5c.iter().map(|c| STANDARD.encode(c)))
                .collect(),
        };
        let text = serde_json::to_string_pretty(&f).expect("plain data serializes");
        let what = |e: std::io::Error| Fido2Error::Io(format!("saving {}: {e}", path.display()));
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(what)?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(what)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            what(e)
        })
    }

    pub(super) fn persist(&self) -> Result<(), Fido2Error> {
        match &self.path {
            Some(path) => self.save(path),
            None => Ok(()),
        }
    }
}
