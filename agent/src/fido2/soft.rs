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
use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use serde_cbor_2::Value;
use zeroize::Zeroizing;

use super::client_pin::{self as pin, PinProtocol};
use super::ctap::{decode_get_assertion_params, encode_get_assertion_response};
use super::random::random;
use super::status::STATUS_OK;
use super::{Authenticator, Fido2Error, GetAssertionResponse};
use crate::verify::webauthn::{
    WebauthnCredential, FLAG_ATTESTED_DATA, FLAG_USER_PRESENT, FLAG_USER_VERIFIED,
};

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

fn both_protocols() -> Vec<u8> {
    vec![2, 1]
}

fn yes() -> bool {
    true
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

    /// Attests registrations with `key` (a P-256 scalar) and its
    /// certificate chain `x5c` (leaf first, DER) from now on.
    pub fn set_attestation(&mut self, key: [u8; 32], x5c: Vec<Vec<u8>>) -> Result<(), Fido2Error> {
        let key = SigningKey::from_bytes(&key.into())
            .map_err(|_| Fido2Error::Io("attestation key is not a P-256 scalar".into()))?;
        self.attestation = Some((key, x5c));
        Ok(())
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

impl SoftAuthenticator {
    fn persist(&self) -> Result<(), Fido2Error> {
        match &self.path {
            Some(path) => self.save(path),
            None => Ok(()),
        }
    }

    /// authenticatorGetAssertion (CTAP 2.1 §6.2.2, the parts a single
    /// non-discoverable-or-discoverable credential needs).
    fn ctap_get_assertion(&mut self, body: &[u8]) -> Result<Answer, Fido2Error> {
        let Ok(req) = decode_get_assertion_params(body) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let mut verified = false;
        if let Some(auth) = &req.pin_uv_auth {
            let Some(protocol) = self.protocol(i128::from(auth.protocol)) else {
                return Ok(Err(if auth.protocol == 0 {
                    status::MISSING_PARAMETER
                } else {
                    status::INVALID_PARAMETER
                }));
            };
            let Some(token) = &self.volatile.token else {
                return Ok(Err(status::PIN_AUTH_INVALID));
            };
            if !protocol.verify(&token.bytes, &req.client_data_hash, &auth.param) {
                return Ok(Err(status::PIN_AUTH_INVALID));
            }
            if token.permissions & pin::PERMISSION_GET_ASSERTION == 0
                || token.rp_id.as_deref().is_some_and(|rp| rp != req.rp_id)
            {
                return Ok(Err(status::UNAUTHORIZED_PERMISSION));
            }
            verified = true;
        } else if req.user_verification {
            if self.built_in_uv() {
                verified = true;
            } else if self.pin.is_some() {
                return Ok(Err(status::PUAT_REQUIRED));
            } else {
                return Ok(Err(status::INVALID_OPTION));
            }
        }
        if req.rp_id != self.rp_id
            || (req.allow_credentials.is_empty() && !self.discoverable)
            || (!req.allow_credentials.is_empty()
                && !req.allow_credentials.contains(&self.credential_id))
        {
            return Ok(Err(status::NO_CREDENTIALS));
        }
        let counter = self.counter.wrapping_add(1);
        let mut flags = 0;
        if self.user_present {
            flags |= FLAG_USER_PRESENT;
        }
        if verified {
            flags |= FLAG_USER_VERIFIED;
        }
        let authenticator_data = self.authenticator_data(flags, counter);
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(&req.client_data_hash);
        let signature: Signature = self.key.sign(&signed);
        self.counter = counter;
        self.persist()?;
        let resp = GetAssertionResponse {
            credential_id: self.credential_id.clone(),
            authenticator_data,
            signature: der_signature(&signature),
        };
        Ok(Ok(encode_get_assertion_response(&resp)[1..].to_vec()))
    }

    /// authenticatorMakeCredential: registers a fresh credential for the
    /// request's rp_id (replacing the one held; saved back to the file),
    /// attested with the test attestation key and chain when set up
    /// (packed, x5c), else self-attested (packed, no x5c).
    fn ctap_make_credential(&mut self, request: &[u8]) -> Result<Answer, Fido2Error> {
        let Ok(req) = super::make_credential::decode_make_credential_request(request) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let mut verified = false;
        if let Some(auth) = &req.pin_uv_auth {
            let Some(protocol) = self.protocol(i128::from(auth.protocol)) else {
                return Ok(Err(status::INVALID_PARAMETER));
            };
            let Some(token) = &self.volatile.token else {
                return Ok(Err(status::PIN_AUTH_INVALID));
            };
            if !protocol.verify(&token.bytes, &req.client_data_hash, &auth.param) {
                return Ok(Err(status::PIN_AUTH_INVALID));
            }
            if token.permissions & pin::PERMISSION_MAKE_CREDENTIAL == 0
                || token.rp_id.as_deref().is_some_and(|rp| rp != req.rp_id)
            {
                return Ok(Err(status::UNAUTHORIZED_PERMISSION));
            }
            verified = true;
        } else if req.user_verification {
            if !self.built_in_uv() {
                return Ok(Err(if self.pin.is_some() {
                    status::PUAT_REQUIRED
                } else {
                    status::INVALID_OPTION
                }));
            }
            verified = true;
        }
        let fresh = SoftAuthenticator::generate(&req.rp_id)?;
        self.rp_id = fresh.rp_id;
        self.credential_id = fresh.credential_id;
        self.key = fresh.key;
        self.counter = 0;
        let mut flags = FLAG_ATTESTED_DATA;
        if self.user_present {
            flags |= FLAG_USER_PRESENT;
        }
        if verified {
            flags |= FLAG_USER_VERIFIED;
        }
        let mut auth_data = self.authenticator_data(flags, 0);
        auth_data.extend_from_slice(if self.attestation.is_some() {
            &TEST_AAGUID
        } else {
            &[0u8; 16]
        });
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.public_key_cose());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&req.client_data_hash);
        let mut stmt = BTreeMap::new();
        stmt.insert(Value::Text("alg".into()), Value::Integer(-7));
        let sig: Signature = match &self.attestation {
            Some((key, x5c)) => {
                stmt.insert(
                    Value::Text("x5c".into()),
                    Value::Array(x5c.iter().map(|c| Value::Bytes(c.clone())).collect()),
                );
                key.sign(&signed)
            }
            None => self.key.sign(&signed),
        };
        stmt.insert(Value::Text("sig".into()), Value::Bytes(der_signature(&sig)));
        self.persist()?;
        let resp = super::MakeCredentialResponse {
            fmt: "packed".into(),
            auth_data,
            att_stmt: Value::Map(stmt),
        };
        Ok(Ok(super::make_credential::encode_make_credential_response(
            &resp,
        )[1..]
            .to_vec()))
    }

    /// authenticatorGetInfo.
    fn ctap_get_info(&self) -> Vec<u8> {
        let text = |t: &str| Value::Text(t.to_string());
        let v21 = self.pin_protocols.contains(&2);
        let mut versions = vec![text("FIDO_2_0")];
        if v21 {
            versions.push(text("FIDO_2_1"));
        }
        let mut options = BTreeMap::new();
        options.insert(text("up"), Value::Bool(true));
        options.insert(text("clientPin"), Value::Bool(self.pin.is_some()));
        if self.built_in_uv() {
            options.insert(text("uv"), Value::Bool(true));
        }
        if v21 && self.token_with_permissions {
            options.insert(text("pinUvAuthToken"), Value::Bool(true));
        }
        let mut m = BTreeMap::new();
        m.insert(Value::Integer(1), Value::Array(versions));
        m.insert(Value::Integer(3), Value::Bytes(vec![0; 16]));
        m.insert(Value::Integer(4), Value::Map(options));
        m.insert(
            Value::Integer(6),
            Value::Array(
                self.pin_protocols
                    .iter()
                    .map(|p| Value::Integer((*p).into()))
                    .collect(),
            ),
        );
        cbor(m)
    }

    fn protocol(&self, n: i128) -> Option<PinProtocol> {
        PinProtocol::from_number(n).filter(|p| self.pin_protocols.contains(&p.number()))
    }

    /// The authenticator's key-agreement key, made at first use.
    fn key_agreement(&mut self) -> Result<p256::SecretKey, Fido2Error> {
        if self.volatile.key_agreement.is_none() {
            self.volatile.key_agreement = Some(pin::random_secret_key()?);
        }
        Ok(self.volatile.key_agreement.clone().expect("just set"))
    }

    /// authenticatorClientPIN (CTAP 2.1 §6.5.5): getPINRetries,
    /// getKeyAgreement, getPinToken and getPinUvAuthTokenUsingPinWithPermissions.
    fn ctap_client_pin(&mut self, body: &[u8]) -> Result<Answer, Fido2Error> {
        let Ok(Value::Map(m)) = serde_cbor_2::from_slice::<Value>(body) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let int = |k: i128| match m.get(&Value::Integer(k)) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        };
        let Some(sub) = int(2) else {
            return Ok(Err(status::MISSING_PARAMETER));
        };
        if sub == i128::from(pin::SUB_GET_PIN_RETRIES) {
            let mut out = BTreeMap::new();
            out.insert(Value::Integer(3), Value::Integer(self.pin_retries.into()));
            return Ok(Ok(cbor(out)));
        }
        let Some(n) = int(1) else {
            return Ok(Err(status::MISSING_PARAMETER));
        };
        let Some(protocol) = self.protocol(n) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        if sub == i128::from(pin::SUB_GET_KEY_AGREEMENT) {
            let key = self.key_agreement()?;
            let mut out = BTreeMap::new();
            out.insert(
                Value::Integer(1),
                pin::cose_key_agreement(&key.public_key()),
            );
            return Ok(Ok(cbor(out)));
        }
        let with_permissions = sub == i128::from(pin::SUB_GET_TOKEN_USING_PIN_WITH_PERMISSIONS)
            && self.pin_protocols.contains(&2)
            && self.token_with_permissions;
        if !with_permissions && sub != i128::from(pin::SUB_GET_PIN_TOKEN) {
            return Ok(Err(status::INVALID_SUBCOMMAND));
        }
        let (Some(platform_key), Some(Value::Bytes(pin_hash_enc))) =
            (m.get(&Value::Integer(3)), m.get(&Value::Integer(6)))
        else {
            return Ok(Err(status::MISSING_PARAMETER));
        };
        let (permissions, rp_id) = if with_permissions {
            let Some(p) = int(9) else {
                return Ok(Err(status::MISSING_PARAMETER));
            };
            let rp_id = match m.get(&Value::Integer(0x0a)) {
                Some(Value::Text(t)) => Some(t.clone()),
                _ => None,
            };
            if p == 0 || p > 0xff {
                return Ok(Err(status::INVALID_PARAMETER));
            }
            if p & !i128::from(pin::PERMISSION_GET_ASSERTION | pin::PERMISSION_MAKE_CREDENTIAL) != 0
            {
                return Ok(Err(status::UNAUTHORIZED_PERMISSION));
            }
            if rp_id.is_none() {
                return Ok(Err(status::MISSING_PARAMETER));
            }
            (p as u8, rp_id)
        } else {
            // getPinToken: makeCredential and getAssertion, any rp.
            (
                pin::PERMISSION_MAKE_CREDENTIAL | pin::PERMISSION_GET_ASSERTION,
                None,
            )
        };
        let Some(current) = self.pin.clone() else {
            return Ok(Err(status::PIN_NOT_SET));
        };
        if self.pin_retries == 0 {
            return Ok(Err(status::PIN_BLOCKED));
        }
        if self.volatile.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
            return Ok(Err(status::PIN_AUTH_BLOCKED));
        }
        let Ok(peer) = pin::parse_cose_key(platform_key) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let key = self.key_agreement()?;
        let secret = protocol.kdf(&pin::ecdh(&key, &peer));
        // Counted before the check, and saved: pulling the key out mid-way
        // does not give a free try.
        self.pin_retries -= 1;
        self.persist()?;
        let Ok(hash) = protocol.decrypt(&secret, pin_hash_enc) else {
            return Ok(Err(status::INVALID_PARAMETER));
        };
        let want = pin::pin_hash(&current);
        let equal = hash.len() == want.len()
            && hash
                .iter()
                .zip(want.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !equal {
            self.volatile.key_agreement = Some(pin::random_secret_key()?);
            self.volatile.consecutive_mismatches += 1;
            if self.pin_retries == 0 {
                return Ok(Err(status::PIN_BLOCKED));
            }
            if self.volatile.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
                return Ok(Err(status::PIN_AUTH_BLOCKED));
            }
            return Ok(Err(status::PIN_INVALID));
        }
        self.pin_retries = MAX_PIN_RETRIES;
        self.volatile.consecutive_mismatches = 0;
        self.persist()?;
        let mut token = Zeroizing::new(vec![0u8; 32]);
        random(&mut token)?;
        let mut iv = [0u8; 16];
        random(&mut iv)?;
        let encrypted = protocol.encrypt(&secret, &token, iv);
        self.volatile.token = Some(Token {
            bytes: token,
            permissions,
            rp_id,
        });
        let mut out = BTreeMap::new();
        out.insert(Value::Integer(2), Value::Bytes(encrypted));
        Ok(Ok(cbor(out)))
    }
}

/// ECDSA signature as DER `SEQUENCE { INTEGER r, INTEGER s }` (WebAuthn's form).
fn der_signature(sig: &Signature) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        let mut v = bytes[start..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let (r, s) = sig.split_bytes();
    let mut body = integer(&r);
    body.extend(integer(&s));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fido2::GetAssertionRequest;
    use crate::verify::webauthn::{client_data_hash, verify_assertion};

    fn req(a: &SoftAuthenticator, uv: bool) -> GetAssertionRequest {
        GetAssertionRequest {
            rp_id: a.rp_id.clone(),
            client_data_hash: client_data_hash("pmfa1:n:l:x", &a.rp_id),
            allow_credentials: vec![a.credential_id().to_vec()],
            user_verification: uv,
            pin_uv_auth: None,
        }
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn seeded_authenticators_are_deterministic() {
        let a = SoftAuthenticator::from_seed("example.com", b"one");
        let b = SoftAuthenticator::from_seed("example.com", b"one");
        let c = SoftAuthenticator::from_seed("example.com", b"two");
        assert_eq!(a.credential(), b.credential());
        assert_ne!(a.credential(), c.credential());
        assert_eq!(a.credential_id().len(), CREDENTIAL_ID_LEN);
        // ECDSA with RFC 6979 nonces: same request, same signature
        let (mut a, mut b) = (a, b);
        let r = req(&a, false);
        assert_eq!(
            a.get_assertion(&r, later()).unwrap(),
            b.get_assertion(&r, later()).unwrap()
        );
        let g = SoftAuthenticator::generate("example.com").unwrap();
        assert_ne!(g.credential(), a.credential());
    }

    #[test]
    fn counter_increments_and_persists() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-soft-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.json");
        let mut a = SoftAuthenticator::from_seed("example.com", b"persist");
        a.counter = 41;
        a.user_verification = false;
        a.save(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let mut b = SoftAuthenticator::from_file(&path).unwrap();
        assert_eq!(b.credential(), a.credential());
        assert!(!b.user_verification && b.user_present);
        assert!(b.name().contains("key.json"));
        let r1 = b.get_assertion(&req(&b, false), later()).unwrap();
        let r2 = b.get_assertion(&req(&b, false), later()).unwrap();
        let cred = a.credential();
        let v1 = verify_assertion(
            &cred,
            "example.com",
            "pmfa1:n:l:x",
            &r1.authenticator_data,
            &r1.signature,
        )
        .unwrap();
        let v2 = verify_assertion(
            &cred,
            "example.com",
            "pmfa1:n:l:x",
            &r2.authenticator_data,
            &r2.signature,
        )
        .unwrap();
        assert_eq!((v1.counter, v2.counter), (42, 43));
        // saved after each assertion: a new process sees the counter
        let c = SoftAuthenticator::from_file(&path).unwrap();
        assert_eq!(c.counter, 43);
        // an authenticator not read from a file saves nothing
        a.get_assertion(&req(&a, false), later()).unwrap();
        assert_eq!(SoftAuthenticator::from_file(&path).unwrap().counter, 43);

        std::fs::write(&path, "{\"rp_id\":\"x\"}").unwrap();
        assert!(SoftAuthenticator::from_file(&path)
            .unwrap_err()
            .to_string()
            .contains("key.json"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pin_state_is_saved_and_power_ups_are_not() {
        use crate::fido2::client_pin::{get_info, pin_token};
        let dir = std::env::temp_dir().join(format!("pam-mfa-soft-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.json");
        let mut a = SoftAuthenticator::from_seed("example.com", b"pin-file");
        a.set_pin("5551234");
        a.pin_protocols = vec![1];
        a.save(&path).unwrap();
        let mut b = SoftAuthenticator::from_file(&path).unwrap();
        assert!(b.has_pin() && !b.user_verification);
        assert_eq!(b.pin_protocols, [1]);
        let info = get_info(&mut b, later()).unwrap();
        assert_eq!(info.protocols, [1]);
        assert!(!info.token_with_permissions());
        for _ in 0..3 {
            let _ = pin_token(&mut b, &info, "0000", "example.com", later());
        }
        // A new process is a new power-up: no wrong PINs in a row, the
        // same tries left.
        let mut c = SoftAuthenticator::from_file(&path).unwrap();
        assert_eq!(c.pin_retries, 5);
        assert!(pin_token(&mut c, &info, "5551234", "example.com", later()).is_ok());
        assert_eq!(SoftAuthenticator::from_file(&path).unwrap().pin_retries, 8);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        let mut a = SoftAuthenticator::from_seed("example.com", b"refuse");
        let mut other_rp = req(&a, false);
        other_rp.rp_id = "evil.example".into();
        assert_eq!(
            a.get_assertion(&other_rp, later()),
            Err(Fido2Error::NoCredentials)
        );
        let mut other_cred = req(&a, false);
        other_cred.allow_credentials = vec![vec![1, 2, 3]];
        assert_eq!(
            a.get_assertion(&other_cred, later()),
            Err(Fido2Error::NoCredentials)
        );
        assert_eq!(
            a.get_assertion(&req(&a, false), Instant::now()),
            Err(Fido2Error::Timeout)
        );
        a.user_verification = false;
        assert!(matches!(
            a.get_assertion(&req(&a, true), later()),
            Err(Fido2Error::UserVerificationUnavailable(_))
        ));
        assert_eq!(a.counter, 0, "refusals do not count");
        // discoverable: no allow list
        let mut any = req(&a, false);
        any.allow_credentials.clear();
        assert!(a.get_assertion(&any, later()).is_ok());
    }

    #[test]
    fn registration_is_a_teleport_webauthn_spec() {
        let a = SoftAuthenticator::from_seed("example.com", b"reg");
        let spec = serde_json::json!({ "user": "jerry", "webauthn": a.registration() });
        assert_eq!(
            WebauthnCredential::from_device_spec(&spec).unwrap(),
            a.credential()
        );
        assert_eq!(
            WebauthnCredential::from_device_spec(&a.registration()).unwrap(),
            a.credential()
        );
    }

    #[test]
    fn der_integers_are_minimal() {
        let mut a = SoftAuthenticator::from_seed("example.com", b"der");
        for _ in 0..20 {
            let r = a.get_assertion(&req(&a, false), later()).unwrap();
            let sig = &r.signature;
            assert_eq!(sig[0], 0x30);
            assert_eq!(sig[1] as usize, sig.len() - 2);
            assert!(sig.len() <= 72);
            let cred = a.credential();
            verify_assertion(
                &cred,
                "example.com",
                "pmfa1:n:l:x",
                &r.authenticator_data,
                sig,
            )
            .unwrap();
        }
    }
}
