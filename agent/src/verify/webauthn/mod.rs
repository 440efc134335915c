//! WebAuthn (FIDO2) assertions, checked against a registered credential:
//! Teleport's own (a user's `local_auth.mfa`, WebAuthn or legacy U2F) or an
//! `mfa_device` of the `webauthn` form.
//!
//! What the authenticator signs is `authenticatorData || SHA-256(clientDataJSON)`.
//! The CLI (`mfactl tap`) does not send its clientDataJSON: both sides build
//! it from the challenge text exactly as a browser does for
//! `navigator.credentials.get` ([`client_data_json`]), so the same
//! credential serves Teleport's web UI, a browser approval page and the CLI,
//! and the verifier checks the challenge, the origin and the type by
//! construction. A browser's own clientDataJSON is checked by
//! [`verify_browser_assertion`] (Teleport's origin rule) or
//! [`verify_assertion_client_data`] (a list of origins).
//!
//! Checked here, on what was signed: the rpIdHash inside authenticatorData
//! is SHA-256(rp_id); the signature, with the registered COSE key. The
//! flags (UP, UV) and the signature counter returned are read from the
//! signed authenticatorData; the caller decides what they must be and keeps
//! the counters. COSE keys and authenticatorData are parsed by
//! webauthn-rs-core (ES256, ES384, RS256); EdDSA (Ed25519), which
//! webauthn-rs-core refuses, is handled here with ed25519-dalek.
//!
//! The answer line `mfactl tap` prints for a WebAuthn tap is
//! `wa1.<selector>.<authenticatorData>.<signature>` ([`encode_answer`],
//! [`decode_answer`]).
//!
//! Teleport's own devices (`spec.local_auth.mfa` of a user) are checked as
//! Teleport's `lib/auth/webauthn` login flow does: a U2F device signs with
//! the cluster's U2F app id as its rpId ([`verify_u2f_assertion`]), a browser's
//! origin must be https on the rp_id or under it ([`validate_origin`]).

mod answer;
mod assertion;
mod client_data;
mod cose_key;
mod credential;
mod error;
#[cfg(test)]
mod tests;
mod u2f;

pub use answer::{decode_answer, encode_answer, DecodedAnswer};
pub use assertion::{
    verify_assertion, verify_assertion_client_data, verify_browser_assertion, verify_u2f_assertion,
    WebauthnAssertion,
};
pub use client_data::{client_data_hash, client_data_json, validate_origin};
pub(crate) use cose_key::verify_with_cose_key;
pub use credential::{credential_selector, decode_b64_lenient, WebauthnCredential};
pub use error::WebauthnError;
pub use u2f::u2f_public_key_to_cose;

/// Authenticator flag: the user touched the key (user presence).
pub const FLAG_USER_PRESENT: u8 = 0x01;
/// Authenticator flag: the user was verified (PIN or biometric).
pub const FLAG_USER_VERIFIED: u8 = 0x04;
/// Authenticator flag: backup eligible (BE): the credential may be copied
/// off the authenticator (a synced passkey), so it is no hardware key.
pub const FLAG_BACKUP_ELIGIBLE: u8 = 0x08;
/// Authenticator flag: backup state (BS): the credential is backed up now.
/// Only a backup-eligible credential can be (WebAuthn L3 §6.1).
pub const FLAG_BACKUP_STATE: u8 = 0x10;
/// Authenticator flag: attested credential data follows (registration).
pub const FLAG_ATTESTED_DATA: u8 = 0x40;
/// Authenticator flag: extension data follows.
pub const FLAG_EXTENSION_DATA: u8 = 0x80;

/// rpIdHash (32) + flags (1) + signCount (4).
pub const AUTHENTICATOR_DATA_MIN_LEN: usize = 37;

/// Prefix of a WebAuthn answer line.
pub const ANSWER_PREFIX: &str = "wa1";
/// Length of the credential selector in an answer line.
pub const SELECTOR_LEN: usize = 8;
