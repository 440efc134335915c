//! WebAuthn devices, parsed once at load into a compact form: Teleport's
//! own (`spec.local_auth.mfa` of a user, see `local_auth.rs`) and our
//! `mfa_device` documents' `webauthn` form.
//!
//! Keys are kept as bytes; they are checked where they are used
//! (`crate::verify::webauthn`), so loading a policy never depends on a
//! verifier.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Which kind of credential a WebAuthn device holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebauthnForm {
    /// A WebAuthn credential: `public_key` is a COSE_Key; it signs for the
    /// cluster's `webauthn.rp_id`.
    Webauthn,
    /// A legacy U2F device (Teleport's `u2f` form): `public_key` is the DER
    /// SubjectPublicKeyInfo of a P-256 key; it signs for the cap's
    /// `u2f.app_id`.
    U2f,
}

/// A registered WebAuthn (or U2F) credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnDevice {
    /// The credential id (U2F: the key handle).
    pub credential_id: Box<[u8]>,
    /// The public key: COSE_Key, or DER for [`WebauthnForm::U2f`].
    pub public_key: Box<[u8]>,
    pub form: WebauthnForm,
    /// Teleport's `credentialRpId`: the rp_id the credential was made for,
    /// when recorded (Teleport leaves out devices of another rp_id).
    pub credential_rp_id: Option<Box<str>>,
    /// The counter Teleport last saw (`signatureCounter`, U2F `counter`); 0
    /// when not given.
    pub signature_counter: u32,
    /// Unix seconds of the later of `addedAt` and `lastUsed` (0: unknown):
    /// the order in which a prompt names credentials, most recent first.
    pub last_active: i64,
    /// The backup-eligible (BE) flag Teleport recorded for the credential
    /// (`credentialBackupEligible`: lib/auth/webauthn/register.go
    /// `RegistrationFlow.Finish` records it, login.go
    /// `updateCredentialAndTimestamps` backfills it after a login). `None`:
    /// not recorded, as Teleport's nil (device.go `deviceToCredential` then
    /// takes the assertion's own flag, so no mismatch is possible). A U2F
    /// device is `Some(false)`: Teleport gives it no flags, and go-webauthn
    /// compares the assertion's BE with false.
    pub backup_eligible: Option<bool>,
}

impl WebauthnDevice {
    /// Whether this device can answer for the cluster's `rp_id` (Teleport's
    /// login flow leaves out devices registered under another rp_id).
    pub fn serves_rp_id(&self, rp_id: &str) -> bool {
        match self.credential_rp_id.as_deref() {
            Some(rp) => rp == rp_id,
            None => true,
        }
    }

    /// Our `mfa_device` document's `webauthn` form (or the whole spec with
    /// a `webauthn` object inside), as leniently as before: a value that
    /// does not decode leaves the field empty and the device unusable
    /// when a tap is verified, without failing the load.
    pub(crate) fn from_mfa_device_form(value: &serde_json::Value) -> WebauthnDevice {
        let form = value.get("webauthn").unwrap_or(value);
        let bytes = |names: &[&str]| -> Box<[u8]> {
            names
                .iter()
                .find_map(|n| form.get(*n).and_then(|v| v.as_str()))
                .and_then(|t| decode_base64(t.trim()))
                .unwrap_or_default()
                .into_boxed_slice()
        };
        let field = |names: &[&str]| names.iter().find_map(|n| form.get(*n));
        WebauthnDevice {
            credential_id: bytes(&["credential_id", "credentialId"]),
            public_key: bytes(&["public_key_cbor", "publicKeyCbor"]),
            form: WebauthnForm::Webauthn,
            // What `mfactl enroll --webauthn` writes, as Teleport's device:
            // the rp_id it was registered for, and its counter then.
            credential_rp_id: field(&["credential_rp_id", "credentialRpId"])
                .and_then(|v| v.as_str())
                .filter(|rp| !rp.is_empty())
                .map(Box::from),
            signature_counter: field(&["signature_counter", "signatureCounter"])
                .and_then(|v| v.as_u64())
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            last_active: 0,
            // Teleport's field, when a document records it (a value of
            // another shape leaves it unknown, as a missing one).
            backup_eligible: field(&["credential_backup_eligible", "credentialBackupEligible"])
                .and_then(|v| recorded_backup_eligible(v).ok().flatten()),
        }
    }
}

/// Teleport's `credentialBackupEligible` (a `google.protobuf.BoolValue`
/// pointer, `types.WebauthnDevice.CredentialBackupEligible`): a bare boolean,
/// as jsonpb prints a wrapper, or the wrapper message itself, `{value: B}`
/// (`{}` is the message with its default, false, as proto3 leaves it out).
/// Null: not recorded (Teleport's nil). Anything else: `Err`, the caller's
/// to report; never a guessed flag.
pub(crate) fn recorded_backup_eligible(value: &serde_json::Value) -> Result<Option<bool>, ()> {
    use serde_json::Value;
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Object(o) if o.is_empty() => Ok(Some(false)),
        Value::Object(o) if o.len() == 1 => match o.get("value") {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// Base64 as tctl prints bytes (standard alphabet, padded) and as people
/// write them (unpadded, or base64url).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()
}
