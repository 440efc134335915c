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
//! "user_verification"}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Authenticator, Fido2Error, GetAssertionRequest, GetAssertionResponse};
use crate::verify::webauthn::{
    WebauthnCredential, FLAG_ATTESTED_DATA, FLAG_USER_PRESENT, FLAG_USER_VERIFIED,
};

const CREDENTIAL_ID_LEN: usize = 32;

/// The AAGUID the software authenticator states when it has a test
/// attestation certificate ("pam-mfa softkey!").
pub const TEST_AAGUID: [u8; 16] = *b"pam-mfa softkey!";

/// A software authenticator holding one ES256 credential.
#[derive(Clone)]
pub struct SoftAuthenticator {
    /// The relying party the credential belongs to.
    pub rp_id: String,
    credential_id: Vec<u8>,
    key: SigningKey,
    /// The signature counter; incremented before each assertion.
    pub counter: u32,
    /// Set UP in assertions (as a key does after a touch); false makes
    /// "silent" assertions, which a verifier must not take as a tap.
    pub user_present: bool,
    /// The authenticator can verify its user: UV is set when the request
    /// asks for it. When false, such a request is refused (as by a key
    /// without a PIN or biometric).
    pub user_verification: bool,
    /// Where the counter is saved after each assertion ([`Self::from_file`]).
    path: Option<PathBuf>,
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
    /// base64url of the P-256 scalar of a test attestation key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attestation_key: Option<String>,
    /// Its certificate chain, leaf first, each standard base64 DER.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attestation_x5c: Vec<String>,
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
            path: None,
            attestation: None,
        }
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
        a.user_verification = f.user_verification;
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

    /// Registers a fresh credential for `req.rp_id` (replacing the one held;
    /// saved back to the file), attested with the test attestation key and
    /// chain when set up (packed, x5c), else self-attested (packed, no x5c).
    fn make_credential(
        &mut self,
        req: &super::MakeCredentialRequest,
        deadline: Instant,
    ) -> Result<super::MakeCredentialResponse, Fido2Error> {
        use serde_cbor_2::Value;
        if Instant::now() >= deadline {
            return Err(Fido2Error::Timeout);
        }
        if req.user_verification && !self.user_verification {
            return Err(Fido2Error::UserVerificationUnavailable(
                "the software authenticator is set up without user verification".into(),
            ));
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
        if req.user_verification {
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
        if let Some(path) = self.path.clone() {
            self.save(&path)?;
        }
        Ok(super::MakeCredentialResponse {
            fmt: "packed".into(),
            auth_data,
            att_stmt: Value::Map(stmt),
        })
    }

    fn get_assertion(
        &mut self,
        req: &GetAssertionRequest,
        deadline: Instant,
    ) -> Result<GetAssertionResponse, Fido2Error> {
        if Instant::now() >= deadline {
            return Err(Fido2Error::Timeout);
        }
        if req.rp_id != self.rp_id
            || (!req.allow_credentials.is_empty()
                && !req.allow_credentials.contains(&self.credential_id))
        {
            return Err(Fido2Error::NoCredentials);
        }
        if req.user_verification && !self.user_verification {
            return Err(Fido2Error::UserVerificationUnavailable(
                "the software authenticator is set up without user verification".into(),
            ));
        }
        let counter = self.counter.wrapping_add(1);
        let mut flags = 0;
        if self.user_present {
            flags |= FLAG_USER_PRESENT;
        }
        if req.user_verification {
            flags |= FLAG_USER_VERIFIED;
        }
        let authenticator_data = self.authenticator_data(flags, counter);
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(&req.client_data_hash);
        let signature: Signature = self.key.sign(&signed);
        self.counter = counter;
        if let Some(path) = self.path.clone() {
            self.save(&path)?;
        }
        Ok(GetAssertionResponse {
            credential_id: self.credential_id.clone(),
            authenticator_data,
            signature: der_signature(&signature),
        })
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
    use crate::verify::webauthn::{client_data_hash, verify_assertion};

    fn req(a: &SoftAuthenticator, uv: bool) -> GetAssertionRequest {
        GetAssertionRequest {
            rp_id: a.rp_id.clone(),
            client_data_hash: client_data_hash("pmfa1:n:l:x", &a.rp_id),
            allow_credentials: vec![a.credential_id().to_vec()],
            user_verification: uv,
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
