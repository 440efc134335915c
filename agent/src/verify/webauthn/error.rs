//! Why a credential or an assertion was refused.

use std::fmt;

use super::AUTHENTICATOR_DATA_MIN_LEN;

/// Why a credential or an assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebauthnError {
    /// The registered credential (the device spec) is malformed.
    BadCredential(String),
    /// The registered public key is not a usable COSE key.
    BadPublicKey(String),
    /// The authenticator data is shorter than its fixed 37-byte header.
    AuthenticatorDataTooShort(usize),
    /// The authenticator data is malformed.
    BadAuthenticatorData(String),
    /// The authenticator data was made for another relying party.
    WrongRpId(String),
    /// A browser's clientDataJSON does not match what was asked for.
    BadClientData(String),
    /// A browser's origin is not on the rp_id (Teleport's origin rule).
    BadOrigin(String),
    /// The signature is not in the encoding its algorithm uses.
    BadSignatureEncoding(String),
    /// Well-formed, but not a valid signature by this credential over this
    /// authenticator data and challenge.
    SignatureInvalid,
}

impl fmt::Display for WebauthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadCredential(why) => write!(f, "bad WebAuthn credential: {why}"),
            Self::BadPublicKey(why) => write!(f, "bad WebAuthn public key (COSE_Key): {why}"),
            Self::AuthenticatorDataTooShort(len) => write!(
                f,
                "authenticator data too short: {len} bytes (at least {AUTHENTICATOR_DATA_MIN_LEN})"
            ),
            Self::BadAuthenticatorData(why) => write!(f, "bad authenticator data: {why}"),
            Self::WrongRpId(rp_id) => {
                write!(
                    f,
                    "the assertion was made for another relying party than \"{rp_id}\""
                )
            }
            Self::BadClientData(why) => write!(f, "bad clientDataJSON: {why}"),
            Self::BadOrigin(why) => write!(f, "origin not allowed: {why}"),
            Self::BadSignatureEncoding(why) => write!(f, "bad signature encoding: {why}"),
            Self::SignatureInvalid => {
                f.write_str("signature invalid for this credential, relying party and challenge")
            }
        }
    }
}

impl std::error::Error for WebauthnError {}
