//! Why a certificate was refused, in words that name what failed.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The key type word is not a certificate type (a plain key).
    NotACertificate { key_type: String },
    /// Not base64, not a certificate, or not what the type word says.
    Malformed(String),
    /// The signing key is not a key of any trusted user CA, nor of this
    /// cluster's openssh CA.
    UnknownCa {
        /// SHA-256 fingerprint of the signing key.
        fingerprint: String,
        /// Set when the key belongs to a CA of another type (e.g. `host CA of example.com`).
        known_as: Option<String>,
    },
    /// The CA signature does not verify (tampered, or not made by that key).
    BadSignature,
    /// A host certificate, not a user certificate.
    NotUserCertificate,
    /// `now` is before `valid_after`.
    NotYetValid { valid_after: SystemTime },
    /// `valid_before` was reached before sshd's connection began (or,
    /// checked at one instant, by then).
    Expired { valid_before: SystemTime },
    /// A critical option other than `source-address` (a Teleport node
    /// refuses the certificate).
    UnsupportedCriticalOption { name: String },
    /// The login is not one of the certificate's principals.
    LoginNotInPrincipals {
        login: String,
        principals: Vec<String>,
    },
    /// A Teleport extension whose value does not parse.
    BadExtension { name: String, reason: String },
    /// A certificate of the `openssh` CA with an extension Teleport never
    /// puts in those (`value` as written, for `private-key-policy`).
    NotFromOpenSshCa { name: String, value: String },
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::NotACertificate { key_type } => {
                write!(f, "not a certificate: the key type is `{key_type}`")
            }
            CertError::Malformed(why) => write!(f, "malformed certificate: {why}"),
            CertError::UnknownCa {
                fingerprint,
                known_as,
            } => {
                write!(
                    f,
                    "certificate signed by a CA that is not trusted (signing key {fingerprint})"
                )?;
                if let Some(what) = known_as {
                    write!(
                        f,
                        "; that key is the {what}, and only user CAs and this cluster's openssh CA sign login certificates"
                    )?;
                }
                Ok(())
            }
            CertError::BadSignature => {
                write!(f, "bad certificate signature: the certificate was altered or not signed by the CA")
            }
            CertError::NotUserCertificate => {
                write!(f, "not a user certificate (a host certificate)")
            }
            CertError::NotYetValid { valid_after } => {
                write!(
                    f,
                    "certificate not yet valid: valid from {}",
                    show_time(*valid_after)
                )
            }
            CertError::Expired { valid_before } => {
                write!(f, "certificate expired at {}", show_time(*valid_before))
            }
            CertError::UnsupportedCriticalOption { name } => {
                write!(f, "certificate has an unsupported critical option `{name}`")
            }
            CertError::LoginNotInPrincipals { login, principals } => {
                write!(
                    f,
                    "login `{login}` is not in the certificate's principals ({})",
                    if principals.is_empty() {
                        "none".to_owned()
                    } else {
                        principals.join(", ")
                    }
                )
            }
            CertError::BadExtension { name, reason } => {
                write!(f, "certificate extension `{name}` is not valid: {reason}")
            }
            CertError::NotFromOpenSshCa { name, value } => {
                write!(
                    f,
                    "certificate of the openssh CA (an agentless login) with extension `{name}`"
                )?;
                if !value.is_empty() {
                    write!(f, " {value:?}")?;
                }
                write!(f, ", which Teleport never signs there")
            }
        }
    }
}

impl std::error::Error for CertError {}

/// RFC 3339 in UTC, or seconds since the epoch when out of range.
fn show_time(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs(),
        Err(_) => return "before 1970".to_owned(),
    };
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}
