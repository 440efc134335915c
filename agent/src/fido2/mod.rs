//! FIDO2 authenticators: what `mfactl tap` (and the agent, for keys on this
//! host) asks for a WebAuthn assertion.
//!
//! - [`Authenticator`]: one key; [`Authenticator::get_assertion`] is CTAP2
//!   `authenticatorGetAssertion`.
//! - [`hid_authenticators`]: USB keys over `/dev/hidraw*` (CTAPHID framing
//!   written here, in [`hid`]; no C library, no udev).
//! - `soft` (feature `soft-fido2`, and unit tests): a software authenticator
//!   for tests, never in a production build.
//! - [`authenticators`]: what a client should use: the software
//!   authenticator named by `PAM_MFA_SOFT_FIDO2` when the feature is
//!   compiled in and the variable is set, else the USB keys.
//!
//! The request's `client_data_hash` is SHA-256 of
//! [`crate::verify::webauthn::client_data_json`]; the response's
//! authenticator data and signature go into
//! [`crate::verify::webauthn::encode_answer`].

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

pub mod client_pin;
mod ctap;
mod ctaphid;
pub mod hid;
pub mod make_credential;
mod pin_protocol;
mod random;
#[cfg(any(test, feature = "soft-fido2"))]
pub mod soft;
#[cfg(any(test, feature = "soft-fido2"))]
mod soft_u2f;
mod status;

pub use ctap::decode_get_assertion_response;
pub use hid::hid_authenticators;
pub use make_credential::{MakeCredentialRequest, MakeCredentialResponse};

/// The environment variable naming a software authenticator's file (only
/// read when built with the `soft-fido2` feature).
pub const SOFT_FIDO2_ENV: &str = "PAM_MFA_SOFT_FIDO2";

/// CTAP2 authenticatorGetAssertion, as far as pam-mfa needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAssertionRequest {
    /// The relying party id (the Teleport cluster's `rp_id`).
    pub rp_id: String,
    /// SHA-256 of the clientDataJSON.
    pub client_data_hash: [u8; 32],
    /// Credential ids the key may use; empty: a discoverable credential.
    pub allow_credentials: Vec<Vec<u8>>,
    /// Ask for built-in user verification (biometric, on-key PIN pad) as
    /// well as a touch. Not set with `pin_uv_auth`.
    pub user_verification: bool,
    /// User verification by PIN: pinUvAuthParam and pinUvAuthProtocol
    /// ([`client_pin::PinToken::auth_param`]).
    pub pin_uv_auth: Option<client_pin::PinUvAuth>,
}

/// What the authenticator returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAssertionResponse {
    /// The credential that signed.
    pub credential_id: Vec<u8>,
    /// The signed authenticator data (rpIdHash, flags, counter, ...).
    pub authenticator_data: Vec<u8>,
    /// The signature over authenticator data || client data hash.
    pub signature: Vec<u8>,
}

/// One FIDO2 authenticator.
pub trait Authenticator {
    /// A name to show the person ("Yubico YubiKey ... (/dev/hidraw3)").
    fn name(&self) -> String;
    /// One CTAP2 command (command byte, then CBOR parameters) and its
    /// response (status byte, then CBOR); waits until `deadline`.
    fn transact(&mut self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, Fido2Error>;
    /// From now on, a wait for a touch ends as soon as the key can tell
    /// (its next keep-alive) once `cancelled` is set: the login it was for
    /// has ended. Keys that cannot tell (the software one) ignore it.
    fn stop_when(&mut self, _cancelled: Arc<AtomicBool>) {}
    /// Asks the key for an assertion; waits for the touch until `deadline`.
    fn get_assertion(
        &mut self,
        req: &GetAssertionRequest,
        deadline: Instant,
    ) -> Result<GetAssertionResponse, Fido2Error> {
        let reply = self.transact(&ctap::encode_get_assertion(req), deadline)?;
        ctap::decode_get_assertion_response(&reply, req)
    }

    /// CTAP2 authenticatorMakeCredential (registration, `mfactl enroll
    /// --webauthn`); waits for the touch until `deadline`.
    fn make_credential(
        &mut self,
        req: &MakeCredentialRequest,
        deadline: Instant,
    ) -> Result<MakeCredentialResponse, Fido2Error> {
        let reply = self.transact(&make_credential::encode_make_credential(req), deadline)?;
        make_credential::decode_make_credential_response(&reply, req)
    }
}

/// Why no assertion was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fido2Error {
    /// Opening, reading or writing a device (or a file) failed.
    Io(String),
    /// The device did not speak CTAPHID/CTAP2 as expected.
    Protocol(String),
    /// The key holds none of the credentials asked for, for this rp_id.
    NoCredentials,
    /// The person refused, or the key was not touched in its own time.
    Denied,
    /// The deadline passed before the key was touched.
    Timeout,
    /// The login the key was waiting for ended first.
    Cancelled,
    /// User verification was asked for and the key cannot do it.
    UserVerificationUnavailable(String),
    /// The PIN was wrong (the key counted it); how many tries it still
    /// takes, when it said.
    PinInvalid { retries: Option<u8> },
    /// No PIN tries left: the key must be reset.
    PinBlocked,
    /// Too many wrong PINs in a row: the key wants to be reinserted.
    PinAuthBlocked,
    /// The key has no PIN.
    PinNotSet,
    /// Another CTAP2 status code.
    Ctap(u8),
}

impl fmt::Display for Fido2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(why) => write!(f, "{why}"),
            Self::Protocol(why) => write!(f, "FIDO2 protocol error: {why}"),
            Self::NoCredentials => {
                f.write_str("this security key holds no credential registered for this cluster")
            }
            Self::Denied => f.write_str("the security key refused (not touched, or cancelled)"),
            Self::Timeout => f.write_str("the security key was not touched in time"),
            Self::Cancelled => f.write_str("the tap was cancelled"),
            Self::UserVerificationUnavailable(why) => {
                write!(f, "user verification unavailable: {why}")
            }
            Self::PinInvalid { retries: Some(0) } => f.write_str(
                "wrong PIN, and no tries are left: the security key's PIN is blocked",
            ),
            Self::PinInvalid { retries: Some(1) } => f.write_str(
                "wrong PIN (1 try left before the security key blocks its PIN)",
            ),
            Self::PinInvalid { retries: Some(n) } => write!(
                f,
                "wrong PIN ({n} tries left before the security key blocks its PIN)"
            ),
            Self::PinInvalid { retries: None } => f.write_str("wrong PIN"),
            Self::PinBlocked => f.write_str(
                "the security key's PIN is blocked (no tries left): it must be reset, which erases its credentials, and registered again",
            ),
            Self::PinAuthBlocked => f.write_str(
                "too many wrong PINs in a row: remove and reinsert the security key, then try again",
            ),
            Self::PinNotSet => f.write_str(
                "user verification is required and the security key has no PIN: set one (`ykman fido access change-pin` or `fido2-token -S`)",
            ),
            Self::Ctap(code) => write!(
                f,
                "the security key answered CTAP2 error 0x{code:02x} ({})",
                status::status_name(*code)
            ),
        }
    }
}

impl std::error::Error for Fido2Error {}

/// The authenticators a client should use: with the `soft-fido2` feature
/// and `PAM_MFA_SOFT_FIDO2=<file>` set, only that software authenticator
/// (its counter is saved back to the file after each assertion); otherwise
/// the USB keys ([`hid_authenticators`]).
pub fn authenticators() -> Result<Vec<Box<dyn Authenticator>>, Fido2Error> {
    #[cfg(feature = "soft-fido2")]
    if let Some(path) = std::env::var_os(SOFT_FIDO2_ENV).filter(|p| !p.is_empty()) {
        let soft = soft::SoftAuthenticator::from_file(std::path::Path::new(&path))?;
        return Ok(vec![Box::new(soft)]);
    }
    hid_authenticators()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_happened() {
        assert!(Fido2Error::NoCredentials
            .to_string()
            .contains("no credential"));
        assert!(Fido2Error::Timeout.to_string().contains("in time"));
        assert_eq!(
            Fido2Error::Ctap(0x2e).to_string(),
            "the security key answered CTAP2 error 0x2e (CTAP2_ERR_NO_CREDENTIALS)"
        );
        assert_eq!(
            Fido2Error::PinInvalid { retries: Some(3) }.to_string(),
            "wrong PIN (3 tries left before the security key blocks its PIN)"
        );
        assert!(Fido2Error::PinInvalid { retries: Some(1) }
            .to_string()
            .contains("1 try left"));
        assert!(Fido2Error::PinInvalid { retries: Some(0) }
            .to_string()
            .contains("blocked"));
        assert!(Fido2Error::PinAuthBlocked.to_string().contains("reinsert"));
    }

    #[test]
    fn hid_authenticators_on_this_machine_do_not_panic() {
        // No hidraw here: an empty list; where keys exist, each has a name.
        match hid_authenticators() {
            Ok(list) => {
                for a in &list {
                    assert!(!a.name().is_empty());
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
