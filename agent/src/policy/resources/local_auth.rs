//! Teleport's own MFA devices: a user's `spec.local_auth.mfa`, as
//! `tctl get users --with-secrets --format=yaml` prints it.
//!
//! tctl marshals each `MFADevice` with jsonpb (`api/types` `MFADevice.MarshalJSON`):
//! camelCase keys (`credentialId`, `publicKeyCbor`, `credentialRpId`,
//! `signatureCounter`, `credentialBackupEligible`, `addedAt`, `lastUsed`;
//! U2F `keyHandle`, `pubKey`, `counter`), bytes as padded standard base64,
//! times as RFC 3339, a `google.protobuf.BoolValue` as a bare boolean (its
//! message form, `{value: true}`, is read too).
//! snake_case keys are read too. Only the fields named here are read:
//! `password_hash`, TOTP keys, `local_auth.webauthn.user_id`, recovery codes
//! and everything else are left unread and never stored.

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::device::{DeviceKind, MfaDevice};
use super::webauthn_device::{
    decode_base64, recorded_backup_eligible, WebauthnDevice, WebauthnForm,
};

/// `spec.local_auth`: only `mfa` is read.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLocalAuth {
    #[serde(default)]
    mfa: Option<Vec<RawMfaDevice>>,
}

#[derive(Debug, Default, Deserialize)]
struct RawName {
    /// jsonpb prints `types.Metadata`'s Go field name, `Name`.
    #[serde(default, alias = "Name")]
    name: Option<String>,
}

/// One `MFADevice`.
#[derive(Debug, Deserialize)]
struct RawMfaDevice {
    #[serde(default)]
    metadata: Option<RawName>,
    /// Teleport 6's form kept the name beside the id.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "addedAt", alias = "added_at")]
    added_at: Option<String>,
    #[serde(default, rename = "lastUsed", alias = "last_used")]
    last_used: Option<String>,
    #[serde(default)]
    webauthn: Option<RawWebauthn>,
    #[serde(default)]
    u2f: Option<RawU2f>,
}

#[derive(Debug, Deserialize)]
struct RawWebauthn {
    #[serde(default, rename = "credentialId", alias = "credential_id")]
    credential_id: Option<String>,
    #[serde(default, rename = "publicKeyCbor", alias = "public_key_cbor")]
    public_key_cbor: Option<String>,
    #[serde(default, rename = "credentialRpId", alias = "credential_rp_id")]
    credential_rp_id: Option<String>,
    #[serde(default, rename = "signatureCounter", alias = "signature_counter")]
    signature_counter: Option<u32>,
    /// Absent or null: not recorded (Teleport's nil). Read whatever its
    /// shape (see [`recorded_backup_eligible`]): one it does not know
    /// leaves the flag unknown with a load warning, and never fails the
    /// user. `credentialBackedUp` (BS) is left unread: go-webauthn's
    /// `validateLogin` compares only BE with what Teleport recorded (BS may
    /// change from login to login).
    #[serde(
        default,
        rename = "credentialBackupEligible",
        alias = "credential_backup_eligible"
    )]
    credential_backup_eligible: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RawU2f {
    #[serde(default, rename = "keyHandle", alias = "key_handle")]
    key_handle: Option<String>,
    #[serde(default, rename = "pubKey", alias = "pub_key")]
    pub_key: Option<String>,
    #[serde(default)]
    counter: Option<u32>,
}

impl RawLocalAuth {
    /// The user's WebAuthn and U2F devices (TOTP and SSO ones are not used
    /// on hosts and are left out). Errors name the device; so do the
    /// `warnings` added for what is read as unknown.
    pub(crate) fn into_devices(
        self,
        user: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<MfaDevice>, String> {
        let mut out = Vec::new();
        for (i, raw) in self.mfa.unwrap_or_default().into_iter().enumerate() {
            let name = raw
                .metadata
                .as_ref()
                .and_then(|m| m.name.clone())
                .or_else(|| raw.name.clone())
                .filter(|n| !n.trim().is_empty());
            let at = match &name {
                Some(n) => format!("user {user:?}: local_auth.mfa[{i}] ({n:?})"),
                None => format!("user {user:?}: local_auth.mfa[{i}]"),
            };
            if let Some(device) = raw.into_device(user, name, &at, warnings)? {
                out.push(device);
            }
        }
        Ok(out)
    }
}

impl RawMfaDevice {
    fn into_device(
        self,
        user: &str,
        name: Option<String>,
        at: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Option<MfaDevice>, String> {
        let last_active = unix_time(self.added_at.as_deref(), at, "addedAt")?.max(unix_time(
            self.last_used.as_deref(),
            at,
            "lastUsed",
        )?);
        let device = match (self.webauthn, self.u2f) {
            (Some(w), None) => WebauthnDevice {
                credential_id: bytes(w.credential_id, at, "webauthn.credentialId")?,
                public_key: bytes(w.public_key_cbor, at, "webauthn.publicKeyCbor")?,
                form: WebauthnForm::Webauthn,
                credential_rp_id: w
                    .credential_rp_id
                    .filter(|rp| !rp.is_empty())
                    .map(String::into_boxed_str),
                signature_counter: w.signature_counter.unwrap_or(0),
                last_active,
                backup_eligible: backup_eligible(w.credential_backup_eligible, at, warnings),
            },
            (None, Some(u)) => WebauthnDevice {
                credential_id: bytes(u.key_handle, at, "u2f.keyHandle")?,
                public_key: bytes(u.pub_key, at, "u2f.pubKey")?,
                form: WebauthnForm::U2f,
                credential_rp_id: None,
                signature_counter: u.counter.unwrap_or(0),
                last_active,
                // Teleport's `deviceToCredential` gives a U2F device no
                // flags: go-webauthn holds its assertions to BE = false.
                backup_eligible: Some(false),
            },
            (Some(_), Some(_)) => return Err(format!("{at} has both a webauthn and a u2f form")),
            // TOTP, SSO: not used on hosts.
            (None, None) => return Ok(None),
        };
        let id = self
            .id
            .filter(|id| !id.trim().is_empty())
            .or_else(|| name.clone())
            .ok_or_else(|| format!("{at} has neither an id nor a name"))?;
        Ok(Some(MfaDevice {
            name: name.unwrap_or_else(|| id.clone()).into(),
            id: id.into(),
            user: user.into(),
            kind: DeviceKind::Webauthn(device),
        }))
    }
}

/// `webauthn.credentialBackupEligible` as recorded; a shape no Teleport
/// prints is unknown (Teleport's nil: the assertion's own flag is then
/// checked as for a device Teleport recorded none for), with a warning.
fn backup_eligible(
    value: Option<serde_json::Value>,
    at: &str,
    warnings: &mut Vec<String>,
) -> Option<bool> {
    let value = value?;
    recorded_backup_eligible(&value).unwrap_or_else(|()| {
        warnings.push(format!(
            "{at}: webauthn.credentialBackupEligible {value} is neither a boolean nor {{value: boolean}}: read as not recorded"
        ));
        None
    })
}

/// A base64 field that must be there and not be empty.
fn bytes(text: Option<String>, at: &str, field: &str) -> Result<Box<[u8]>, String> {
    let text = text.ok_or_else(|| format!("{at}: {field} is missing"))?;
    let bytes = decode_base64(text.trim()).ok_or_else(|| format!("{at}: {field} is not base64"))?;
    if bytes.is_empty() {
        return Err(format!("{at}: {field} is empty"));
    }
    Ok(bytes.into_boxed_slice())
}

/// Unix seconds of an RFC 3339 time (0 when absent or before 1970).
fn unix_time(text: Option<&str>, at: &str, field: &str) -> Result<i64, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.unix_timestamp().max(0))
        .map_err(|_| format!("{at}: {field} {text:?} is not an RFC 3339 time"))
}
