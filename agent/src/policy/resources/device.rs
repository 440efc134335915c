//! `kind: mfa_device` (v1): Teleport's kind, extended with `ssh_sk` and `piv`
//! forms, each naming its cluster user in `spec.user`.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::common::{non_empty_string, v1, Metadata};
use super::shared_names::shared_name;
use super::webauthn_device::WebauthnDevice;
use crate::piv::PivDevice;

/// OpenSSH security-key public key types a device may register.
pub const SSH_SK_KEY_TYPES: &[&str] = &[
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A registered MFA device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDevice {
    /// `metadata.name`.
    pub name: Box<str>,
    /// `spec.id`, else `metadata.name` (lock targets name this).
    pub id: Box<str>,
    /// `spec.user`: the cluster user the device belongs to (shared by the
    /// devices of one user read together).
    pub user: Arc<str>,
    /// The form of the device.
    pub kind: DeviceKind,
}

/// The form of a device: exactly one per device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceKind {
    /// `spec.ssh_sk.public_key`: an OpenSSH security key.
    SshSk {
        /// `sk-ssh-ed25519@openssh.com` or `sk-ecdsa-sha2-nistp256@openssh.com`
        /// (one of [`SSH_SK_KEY_TYPES`]).
        key_type: &'static str,
        /// The key blob (decoded from the base64 of authorized_keys; see
        /// [`DeviceKind::ssh_sk_blob_base64`]). The comment after it is not
        /// kept: a key is the type and the blob, in OpenSSH and in
        /// Teleport, and no decision reads it.
        key_blob: Box<[u8]>,
    },
    /// A WebAuthn credential: `spec.webauthn` of an `mfa_device`, or one of
    /// a user's Teleport devices (`spec.local_auth.mfa`, WebAuthn or U2F).
    Webauthn(WebauthnDevice),
    /// `spec.piv`: an attested PIV key (verified when used, see `crate::piv`).
    Piv(Box<PivDevice>),
}

impl DeviceKind {
    /// An `ssh_sk` key's blob in base64, as authorized_keys and
    /// `SSH_AUTH_INFO_0` write it.
    pub fn ssh_sk_blob_base64(&self) -> Option<String> {
        match self {
            DeviceKind::SshSk { key_blob, .. } => {
                Some(base64::engine::general_purpose::STANDARD.encode(key_blob))
            }
            _ => None,
        }
    }

    /// `ssh_sk`, `webauthn` or `piv`.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceKind::SshSk { .. } => "ssh_sk",
            DeviceKind::Webauthn(_) => "webauthn",
            DeviceKind::Piv(_) => "piv",
        }
    }
}

/// An authorized_keys-style line for a security key, checked while parsing so
/// that errors point at the value.
#[derive(Debug)]
struct SshSkKeyLine {
    key_type: &'static str,
    key_blob: Box<[u8]>,
}

fn parse_sk_key_line(line: &str) -> Result<SshSkKeyLine, String> {
    let mut parts = line.split_whitespace();
    let key_type = parts.next().ok_or("public_key is empty")?;
    let Some(&key_type) = SSH_SK_KEY_TYPES.iter().find(|&&t| t == key_type) else {
        return Err(format!(
            "public_key type {key_type:?} is not a security key type (expected {})",
            SSH_SK_KEY_TYPES.join(" or ")
        ));
    };
    let blob = parts
        .next()
        .ok_or_else(|| format!("public_key has no key data after {key_type:?}"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|e| format!("public_key data is not valid base64: {e}"))?;
    // The blob starts with its own type as an SSH string; when it parses, it
    // must agree with the type in front of it.
    if let Some(inner) = ssh_string_prefix(&bytes) {
        if inner != key_type.as_bytes() {
            return Err(format!(
                "public_key data is a {:?} key, but the line says {key_type:?}",
                String::from_utf8_lossy(inner)
            ));
        }
    }
    Ok(SshSkKeyLine {
        key_type,
        key_blob: bytes.into_boxed_slice(),
    })
}

fn ssh_string_prefix(bytes: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    bytes.get(4..4usize.checked_add(len)?)
}

/// Parsed where it is read (no copy of the line first).
impl<'de> Deserialize<'de> for SshSkKeyLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = SshSkKeyLine;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an authorized_keys line")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SshSkKeyLine, E> {
                parse_sk_key_line(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Debug, Deserialize)]
struct SshSkForm {
    public_key: SshSkKeyLine,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeviceDoc {
    #[serde(rename = "version", deserialize_with = "v1")]
    _version: String,
    metadata: Metadata,
    spec: RawDeviceSpec,
}

#[derive(Debug, Deserialize)]
struct RawDeviceSpec {
    #[serde(default)]
    id: Option<String>,
    #[serde(deserialize_with = "non_empty_string")]
    user: String,
    #[serde(default)]
    ssh_sk: Option<SshSkForm>,
    #[serde(default)]
    webauthn: Option<serde_json::Value>,
    #[serde(default)]
    piv: Option<serde_json::Value>,
    // Teleport's other forms: recognised so they can be skipped by name.
    #[serde(default)]
    totp: Option<serde_json::Value>,
    #[serde(default)]
    u2f: Option<serde_json::Value>,
    #[serde(default)]
    sso: Option<serde_json::Value>,
}

/// What a device document turned into.
pub(crate) enum DeviceOutcome {
    Device(MfaDevice),
    /// A Teleport form hosts cannot use (`totp`, `u2f`, `sso`): skipped.
    Skipped(String),
}

/// Why a device document is wrong (position: the document).
pub(crate) struct DeviceError(pub String);

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl DeviceDoc {
    pub(crate) fn into_device(self) -> Result<DeviceOutcome, DeviceError> {
        let spec = self.spec;
        let name = self.metadata.name;
        let forms: Vec<&str> = [
            ("ssh_sk", spec.ssh_sk.is_some()),
            ("webauthn", spec.webauthn.is_some()),
            ("piv", spec.piv.is_some()),
        ]
        .into_iter()
        .filter(|(_, present)| *present)
        .map(|(n, _)| n)
        .collect();
        let others: Vec<&str> = [("totp", &spec.totp), ("u2f", &spec.u2f), ("sso", &spec.sso)]
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| n)
            .collect();
        match forms.len() {
            1 => {}
            0 if !others.is_empty() => {
                return Ok(DeviceOutcome::Skipped(format!(
                    "skipped mfa_device {name:?}: form {} is not used on hosts",
                    others.join(", ")
                )))
            }
            0 => {
                return Err(DeviceError(format!(
                "mfa_device {name:?} has no form (expected exactly one of ssh_sk, webauthn, piv)"
            )))
            }
            _ => {
                return Err(DeviceError(format!(
                    "mfa_device {name:?} has several forms ({}); expected exactly one of ssh_sk, webauthn, piv",
                    forms.join(", ")
                )));
            }
        }
        let kind = if let Some(sk) = spec.ssh_sk {
            DeviceKind::SshSk {
                key_type: sk.public_key.key_type,
                key_blob: sk.public_key.key_blob,
            }
        } else if let Some(v) = spec.webauthn {
            DeviceKind::Webauthn(WebauthnDevice::from_mfa_device_form(&v))
        } else {
            let raw = spec.piv.expect("one form");
            DeviceKind::Piv(Box::new(
                PivDevice::parse(&raw)
                    .map_err(|e| DeviceError(format!("mfa_device {name:?}: {e}")))?,
            ))
        };
        let id = spec
            .id
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| name.clone());
        Ok(DeviceOutcome::Device(MfaDevice {
            name: name.into_boxed_str(),
            id: id.into_boxed_str(),
            user: shared_name(spec.user),
            kind,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An sk-ssh-ed25519 public key blob (type, 32-byte key, application "ssh:").
    const ED25519_SK_BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";

    #[test]
    fn key_lines() {
        let ok = [
            format!("sk-ssh-ed25519@openssh.com {ED25519_SK_BLOB} jerry@laptop"),
            format!("sk-ssh-ed25519@openssh.com {ED25519_SK_BLOB}"),
            format!("  sk-ssh-ed25519@openssh.com   {ED25519_SK_BLOB}  two words "),
            // A blob that does not parse as an SSH string is only checked as base64.
            "sk-ecdsa-sha2-nistp256@openssh.com AAAA".to_owned(),
        ];
        for line in &ok {
            let k = parse_sk_key_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert!(SSH_SK_KEY_TYPES.contains(&k.key_type));
        }
        let k = parse_sk_key_line(&ok[2]).unwrap();
        assert_eq!(
            &*k.key_blob,
            base64::engine::general_purpose::STANDARD
                .decode(ED25519_SK_BLOB)
                .unwrap()
        );

        let bad = [
            ("", "empty"),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x",
                "not a security key type",
            ),
            ("sk-ssh-ed25519@openssh.com", "no key data"),
            ("sk-ssh-ed25519@openssh.com not*base64", "base64"),
            (
                &*format!("sk-ecdsa-sha2-nistp256@openssh.com {ED25519_SK_BLOB}"),
                "but the line says",
            ),
        ];
        for (line, want) in bad {
            let err = parse_sk_key_line(line).expect_err(line);
            assert!(err.contains(want), "{line}: {err}");
        }
    }
}
