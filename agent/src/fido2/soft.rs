//! A software FIDO2 authenticator for tests: one ES256 (P-256) credential
//! for one rp_id, a signature counter, and configurable UP/UV behaviour.
//!
//! Compiled only with the `soft-fido2` cargo feature (and in unit tests);
//! production builds never contain it. `mfactl tap` uses it when
//! `PAM_MFA_SOFT_FIDO2=<file>` names a file written by [`SoftAuthenticator::save`]
//! (see [`crate::fido2::authenticators`]); after each assertion the new
//! counter is written back to that file.
//!
//! The file is JSON: `{"rp_id", "credential_id" (base64url), "private_key"
//! (base64url of the 32-byte P-256 scalar), "counter", "user_present",
//! "user_verification", "pin", "pin_retries", "pin_protocols"}` (the last
//! three optional: no PIN, 8 tries, protocols `[2, 1]`).
//!
//! It speaks CTAP2 for real ([`Authenticator::transact`]): getAssertion,
//! getInfo and clientPIN (CTAP 2.1 §6.5: key agreement, PIN retries counted
//! down and saved, blocked at 0, three wrong PINs in a row block until the
//! next "power-up", i.e. the next process; tokens with permissions). With a
//! PIN set it has no built-in user verification: UV is set in the signed
//! flags only after a valid pinUvAuthParam.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

use serde_cbor_2::Value;
use zeroize::Zeroizing;

use super::client_pin as pin;
use super::status::STATUS_OK;
use super::{Authenticator, Fido2Error};
use crate::verify::webauthn::WebauthnCredential;

mod commands;
mod file;
mod pin_commands;
#[cfg(test)]
mod tests;

use file::both_protocols;

const CREDENTIAL_ID_LEN: usize = 32;
/// PIN tries of a fresh (or just unlocked) authenticator.
pub const MAX_PIN_RETRIES: u8 = 8;
/// Wrong PINs in a row before the key wants a power cycle.
const MAX_CONSECUTIVE_MISMATCHES: u8 = 3;

mod status {
    pub const INVALID_COMMAND: u8 = 0x01;
    pub const INVALID_PARAMETER: u8 = 0x02;
    pub const MISSING_PARAMETER: u8 = 0x14;
    pub const INVALID_OPTION: u8 = 0x2c;
    pub const INVALID_SUBCOMMAND: u8 = 0x3e;
    pub const NO_CREDENTIALS: u8 = 0x2e;
    pub const PIN_INVALID: u8 = 0x31;
    pub const PIN_BLOCKED: u8 = 0x32;
    pub const PIN_AUTH_INVALID: u8 = 0x33;
    pub const PIN_AUTH_BLOCKED: u8 = 0x34;
    pub const PIN_NOT_SET: u8 = 0x35;
    pub const PUAT_REQUIRED: u8 = 0x36;
    pub const UNAUTHORIZED_PERMISSION: u8 = 0x40;
}

/// A pinUvAuthToken in force (until the process ends).
struct Token {
    bytes: Zeroizing<Vec<u8>>,
    permissions: u8,
    rp_id: Option<String>,
}

/// A copy of an authenticator starts a new power-up.
impl Clone for Volatile {
    fn clone(&self) -> Volatile {
        Volatile::default()
    }
}

/// State of one "power-up": lost when the process ends, as a key's is when
/// it is unplugged.
#[derive(Default)]
pub(crate) struct Volatile {
    key_agreement: Option<p256::SecretKey>,
    consecutive_mismatches: u8,
    token: Option<Token>,
}

/// The AAGUID the software authenticator states when it has a test
/// attestation certificate ("pam-mfa softkey!").
pub const TEST_AAGUID: [u8; 16] = *b"pam-mfa softkey!";

/// A software authenticator holding one ES256 credential.
#[derive(Clone)]
pub struct SoftAuthenticator {
    /// The relying party the credential belongs to.
    pub rp_id: String,
    credential_id: Vec<u8>,
    pub(super) key: SigningKey,
    /// The signature counter; incremented before each assertion.
    pub counter: u32,
    /// Set UP in assertions (as a key does after a touch); false makes
    /// "silent" assertions, which a verifier must not take as a tap.
    pub user_present: bool,
    /// The authenticator can verify its user: UV is set when the request
    /// asks for it. When false, such a request is refused (as by a key
    /// without a PIN or biometric).
    pub user_verification: bool,
    /// A discoverable (resident) credential answers a request with no
    /// allowList; false: only when asked about it by id, as Teleport's MFA
    /// credentials (saved).
    pub discoverable: bool,
    /// Sets BE in assertions, as a synced passkey's authenticator does
    /// (not saved).
    pub backup_eligible: bool,
    /// Sets BS in assertions: the credential is backed up now (not saved).
    pub backup_state: bool,
    /// The PIN (clientPin); with one, no built-in user verification.
    pin: Option<Zeroizing<String>>,
    /// PIN tries left (saved).
    pub pin_retries: u8,
    /// PIN/UV auth protocols offered, in order of preference. With 2 it
    /// is a CTAP 2.1 key (`FIDO_2_1`); with only 1, a CTAP 2.0 key that
    /// knows getPinToken and not tokens with permissions.
    pub pin_protocols: Vec<u8>,
    /// A CTAP 2.1 key that takes getPinUvAuthTokenUsingPinWithPermissions
    /// (and says `pinUvAuthToken`); false: it turns the subcommand down,
    /// as some early 2.1 keys do (not saved).
    pub token_with_permissions: bool,
    /// Where the counter is saved after each assertion ([`Self::from_file`]).
    path: Option<PathBuf>,
    volatile: Volatile,
    /// Packed attestation with a certificate: the attestation key and the
    /// chain (leaf first, DER) it signs registrations with. None: self
    /// attestation (signed by the new credential's own key).
    attestation: Option<(SigningKey, Vec<Vec<u8>>)>,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("rp_id", &self.rp_id)
            .field(
                "credential_id",
                &URL_SAFE_NO_PAD.encode(&self.credential_id),
            )
            .field("counter", &self.counter)
            .field("user_present", &self.user_present)
            .field("user_verification", &self.user_verification)
            .field("pin_set", &self.pin.is_some())
            .field("pin_retries", &self.pin_retries)
            .finish_non_exhaustive()
    }
}

impl SoftAuthenticator {
    /// A deterministic authenticator: the key and credential id derive from
    /// `seed` (tests). UP and UV on, counter 0.
    pub fn from_seed(rp_id: &str, seed: &[u8]) -> SoftAuthenticator {
        let derive = |label: &[u8], n: u32| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update(b"pam-mfa soft-fido2 ");
            h.update(label);
            h.update(n.to_be_bytes());
            h.update(seed);
            h.finalize().into()
        };
        let key = (0..)
            .find_map(|n| SigningKey::from_bytes(&derive(b"key", n).into()).ok())
            .expect("some candidate scalar is valid");
        SoftAuthenticator::with(
            rp_id,
            derive(b"credential", 0)[..CREDENTIAL_ID_LEN].to_vec(),
            key,
        )
    }

    /// A fresh authenticator with a random key and credential id.
    pub fn generate(rp_id: &str) -> Result<SoftAuthenticator, Fido2Error> {
        let mut seed = [0u8; 32];
        let mut filled = 0;
        while filled < seed.len() {
            match rustix::rand::getrandom(
                &mut seed[filled..],
                rustix::rand::GetRandomFlags::empty(),
            ) {
                Ok(n) => filled += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Fido2Error::Io(format!("getrandom: {e}"))),
            }
        }
        Ok(SoftAuthenticator::from_seed(rp_id, &seed))
    }

    fn with(rp_id: &str, credential_id: Vec<u8>, key: SigningKey) -> SoftAuthenticator {
        SoftAuthenticator {
            rp_id: rp_id.to_string(),
            credential_id,
            key,
            counter: 0,
            user_present: true,
            user_verification: true,
            discoverable: true,
            backup_eligible: false,
            backup_state: false,
            pin: None,
            pin_retries: MAX_PIN_RETRIES,
            pin_protocols: both_protocols(),
            token_with_permissions: true,
            path: None,
            volatile: Default::default(),
            attestation: None,
        }
    }

    /// Sets the PIN (and so turns built-in user verification off).
    pub fn set_pin(&mut self, pin: &str) {
        self.pin = Some(Zeroizing::new(pin.to_string()));
        self.user_verification = false;
        self.pin_retries = MAX_PIN_RETRIES;
    }

    /// Whether a PIN is set.
    pub fn has_pin(&self) -> bool {
        self.pin.is_some()
    }

    /// Forgets what a power-up holds (key agreement, token, wrong PINs in
    /// a row), as unplugging a key does; the PIN retries stay.
    pub fn power_cycle(&mut self) {
        self.volatile = Volatile::default();
    }

    /// Built-in user verification: only without a PIN.
    fn built_in_uv(&self) -> bool {
        self.user_verification && self.pin.is_none()
    }

    /// Attests registrations with `key` (a P-256 scalar) and its
    /// certificate chain `x5c` (leaf first, DER) from now on.
    pub fn set_attestation(&mut self, key: [u8; 32], x5c: Vec<Vec<u8>>) -> Result<(), Fido2Error> {
        let key = SigningKey::from_bytes(&key.into())
            .map_err(|_| Fido2Error::Io("attestation key is not a P-256 scalar".into()))?;
        self.attestation = Some((key, x5c));
        Ok(())
    }

    /// This authenticator with credential id `id`: an authenticator
    /// registered without attestation (`none`) names its credential as it
    /// likes, another's id included.
    pub fn with_credential_id(mut self, id: &[u8]) -> SoftAuthenticator {
        self.credential_id = id.to_vec();
        self
    }

    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The credential's public key as a COSE_Key (EC2, ES256, P-256).
    pub fn public_key_cose(&self) -> Vec<u8> {
        use serde_cbor_2::Value;
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut m = BTreeMap::new();
        m.insert(Value::Integer(1), Value::Integer(2)); // kty: EC2
        m.insert(Value::Integer(3), Value::Integer(-7)); // alg: ES256
        m.insert(Value::Integer(-1), Value::Integer(1)); // crv: P-256
        m.insert(
            Value::Integer(-2),
            Value::Bytes(point.x().expect("uncompressed").to_vec()),
        );
        m.insert(
            Value::Integer(-3),
            Value::Bytes(point.y().expect("uncompressed").to_vec()),
        );
        serde_cbor_2::to_vec(&Value::Map(m)).expect("a CBOR Value always encodes")
    }

    /// The registered credential, as the verifier sees it.
    pub fn credential(&self) -> WebauthnCredential {
        WebauthnCredential {
            credential_id: self.credential_id.clone(),
            public_key_cose: self.public_key_cose(),
        }
    }

    /// Teleport's `mfa_device` `spec.webauthn` object for this credential
    /// (bytes in standard base64, as tctl prints them).
    pub fn registration(&self) -> serde_json::Value {
        serde_json::json!({
            "credential_id": STANDARD.encode(&self.credential_id),
            "public_key_cbor": STANDARD.encode(self.public_key_cose()),
            "attestation_type": "none",
            "aaguid": STANDARD.encode([0u8; 16]),
            "signature_counter": self.counter,
            "credential_rp_id": self.rp_id,
        })
    }

    /// Authenticator data for the next assertion (without signing).
    fn authenticator_data(&self, flags: u8, counter: u32) -> Vec<u8> {
        let mut ad = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        ad.push(flags);
        ad.extend_from_slice(&counter.to_be_bytes());
        ad
    }
}

impl Authenticator for SoftAuthenticator {
    fn name(&self) -> String {
        match &self.path {
            Some(p) => format!("software authenticator ({})", p.display()),
            None => "software authenticator".to_string(),
        }
    }

    fn transact(&mut self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, Fido2Error> {
        if Instant::now() >= deadline {
            return Err(Fido2Error::Timeout);
        }
        let Some((&cmd, body)) = request.split_first() else {
            return Ok(vec![status::INVALID_COMMAND]);
        };
        let answer = match cmd {
            super::ctap::CMD_GET_ASSERTION => self.ctap_get_assertion(body)?,
            super::make_credential::CMD_MAKE_CREDENTIAL => self.ctap_make_credential(request)?,
            pin::CMD_GET_INFO => Ok(self.ctap_get_info()),
            pin::CMD_CLIENT_PIN => self.ctap_client_pin(body)?,
            _ => Err(status::INVALID_COMMAND),
        };
        Ok(match answer {
            Ok(cbor) => {
                let mut out = vec![STATUS_OK];
                out.extend(cbor);
                out
            }
            Err(code) => vec![code],
        })
    }
}

/// A CTAP2 answer: CBOR, or a status code.
type Answer = Result<Vec<u8>, u8>;

fn cbor(map: BTreeMap<Value, Value>) -> Vec<u8> {
    serde_cbor_2::to_vec(&Value::Map(map)).expect("a CBOR Value always encodes")
}
