//! WebAuthn (FIDO2) assertions, checked against a credential registered in
//! Teleport (`mfa_device` `spec.webauthn`).
//!
//! What the authenticator signs is `authenticatorData || SHA-256(clientDataJSON)`.
//! The CLI (`mfactl tap`) does not send its clientDataJSON: both sides build
//! it from the challenge text exactly as a browser does for
//! `navigator.credentials.get` ([`client_data_json`]), so the same
//! credential serves Teleport's web UI, a browser approval page and the CLI,
//! and the verifier checks the challenge, the origin and the type by
//! construction. A browser's own clientDataJSON is checked by
//! [`verify_assertion_client_data`].
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

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::{Authentication, COSEAlgorithm, COSEKey};

/// Authenticator flag: the user touched the key (user presence).
pub const FLAG_USER_PRESENT: u8 = 0x01;
/// Authenticator flag: the user was verified (PIN or biometric).
pub const FLAG_USER_VERIFIED: u8 = 0x04;
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
/// Largest answer line accepted (PAM's PAM_MAX_RESP_SIZE).
const MAX_ANSWER: usize = 512;

/// The registered credential, from Teleport's mfa_device `spec.webauthn`
/// (credential_id: base64 std; public_key_cbor: base64 std of a COSE_Key;
/// signature_counter optional, not read here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCredential {
    pub credential_id: Vec<u8>,
    pub public_key_cose: Vec<u8>,
}

impl WebauthnCredential {
    /// Reads a credential from an `mfa_device` spec: either the whole `spec`
    /// (with a `webauthn` object inside) or the `spec.webauthn` object itself.
    /// `credential_id` and `public_key_cbor` are base64 (standard alphabet,
    /// padded or not; base64url is accepted too). The COSE key is parsed
    /// now, so a bundle with a key this agent cannot use is refused at load.
    pub fn from_device_spec(spec: &serde_json::Value) -> Result<Self, WebauthnError> {
        let wa = match spec.get("webauthn") {
            Some(inner) => inner,
            None => spec,
        };
        if !wa.is_object() {
            return Err(WebauthnError::BadCredential(
                "spec.webauthn is not an object".into(),
            ));
        }
        let field = |name: &str| -> Result<Vec<u8>, WebauthnError> {
            let text = wa
                .get(name)
                .ok_or_else(|| {
                    WebauthnError::BadCredential(format!("spec.webauthn.{name} is missing"))
                })?
                .as_str()
                .ok_or_else(|| {
                    WebauthnError::BadCredential(format!("spec.webauthn.{name} is not a string"))
                })?;
            let bytes = decode_b64_lenient(text.trim()).ok_or_else(|| {
                WebauthnError::BadCredential(format!("spec.webauthn.{name} is not base64"))
            })?;
            if bytes.is_empty() {
                return Err(WebauthnError::BadCredential(format!(
                    "spec.webauthn.{name} is empty"
                )));
            }
            Ok(bytes)
        };
        let cred = WebauthnCredential {
            credential_id: field("credential_id")?,
            public_key_cose: field("public_key_cbor")?,
        };
        PublicKey::parse(&cred.public_key_cose)?;
        Ok(cred)
    }

    /// The 8-byte selector that names this credential in an answer line.
    pub fn selector(&self) -> [u8; SELECTOR_LEN] {
        credential_selector(&self.credential_id)
    }
}

/// First 8 bytes of SHA-256(credential_id).
pub fn credential_selector(credential_id: &[u8]) -> [u8; SELECTOR_LEN] {
    let digest = Sha256::digest(credential_id);
    let mut out = [0u8; SELECTOR_LEN];
    out.copy_from_slice(&digest[..SELECTOR_LEN]);
    out
}

fn decode_b64_lenient(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()
}

/// clientDataJSON exactly as browsers build it for `navigator.credentials.get`,
/// so one credential serves the browser and the CLI:
/// `{"type":"webauthn.get","challenge":"<base64url(SHA-256(challenge_text)) no padding>","origin":"https://<rp_id>","crossOrigin":false}`
pub fn client_data_json(challenge_text: &str, rp_id: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(challenge_text.as_bytes()));
    let origin = serde_json::Value::String(format!("https://{rp_id}")).to_string();
    format!(
        r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":{origin},"crossOrigin":false}}"#
    )
}

/// SHA-256 of [`client_data_json`]: what the authenticator is asked to sign
/// (CTAP2 `clientDataHash`).
pub fn client_data_hash(challenge_text: &str, rp_id: &str) -> [u8; 32] {
    Sha256::digest(client_data_json(challenge_text, rp_id).as_bytes()).into()
}

/// Checks `signature` over `signed` with a COSE public key (self
/// attestation at registration).
pub(crate) fn verify_with_cose_key(
    cose: &[u8],
    signature: &[u8],
    signed: &[u8],
) -> Result<(), WebauthnError> {
    PublicKey::parse(cose)?.verify(signature, signed)
}

/// What a verified assertion says about the tap, read from the signed
/// authenticator data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebauthnAssertion {
    /// Authenticator flags: [`FLAG_USER_PRESENT`], [`FLAG_USER_VERIFIED`], ...
    pub flags: u8,
    /// The authenticator's signature counter (0: the authenticator keeps none).
    pub counter: u32,
}

impl WebauthnAssertion {
    /// The assertion was made with a touch (UP).
    pub fn user_present(&self) -> bool {
        self.flags & FLAG_USER_PRESENT != 0
    }

    /// The assertion was made after user verification (UV: PIN or biometric).
    pub fn user_verified(&self) -> bool {
        self.flags & FLAG_USER_VERIFIED != 0
    }
}

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
            Self::BadSignatureEncoding(why) => write!(f, "bad signature encoding: {why}"),
            Self::SignatureInvalid => {
                f.write_str("signature invalid for this credential, relying party and challenge")
            }
        }
    }
}

impl std::error::Error for WebauthnError {}

/// A parsed registered public key.
enum PublicKey {
    /// ES256, ES384, RS256: parsed and checked by webauthn-rs-core.
    Cose(COSEKey),
    /// EdDSA with Ed25519 (COSE kty OKP, alg -8, crv 6).
    Ed25519(ed25519_dalek::VerifyingKey),
}

const COSE_KTY_OKP: i128 = 1;
const COSE_ALG_EDDSA: i128 = -8;
const COSE_CRV_ED25519: i128 = 6;

impl PublicKey {
    fn parse(cose: &[u8]) -> Result<PublicKey, WebauthnError> {
        let value: serde_cbor_2::Value = serde_cbor_2::from_slice(cose)
            .map_err(|e| WebauthnError::BadPublicKey(format!("not CBOR: {e}")))?;
        let serde_cbor_2::Value::Map(map) = &value else {
            return Err(WebauthnError::BadPublicKey("not a CBOR map".into()));
        };
        let int = |k: i128| match map.get(&serde_cbor_2::Value::Integer(k)) {
            Some(serde_cbor_2::Value::Integer(v)) => Some(*v),
            _ => None,
        };
        if int(1) == Some(COSE_KTY_OKP) && int(3) == Some(COSE_ALG_EDDSA) {
            if int(-1) != Some(COSE_CRV_ED25519) {
                return Err(WebauthnError::BadPublicKey(
                    "EdDSA key on a curve other than Ed25519".into(),
                ));
            }
            let Some(serde_cbor_2::Value::Bytes(x)) = map.get(&serde_cbor_2::Value::Integer(-2))
            else {
                return Err(WebauthnError::BadPublicKey(
                    "Ed25519 key without its x coordinate".into(),
                ));
            };
            let x: [u8; 32] = x
                .as_slice()
                .try_into()
                .map_err(|_| WebauthnError::BadPublicKey("Ed25519 key is not 32 bytes".into()))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| {
                WebauthnError::BadPublicKey("Ed25519 key is not a curve point".into())
            })?;
            return Ok(PublicKey::Ed25519(key));
        }
        let key =
            COSEKey::try_from(&value).map_err(|e| WebauthnError::BadPublicKey(format!("{e:?}")))?;
        match key.type_ {
            COSEAlgorithm::ES256 | COSEAlgorithm::ES384 | COSEAlgorithm::RS256 => {
                Ok(PublicKey::Cose(key))
            }
            other => Err(WebauthnError::BadPublicKey(format!(
                "unsupported algorithm {other:?}"
            ))),
        }
    }

    fn verify(&self, signature: &[u8], signed: &[u8]) -> Result<(), WebauthnError> {
        match self {
            PublicKey::Cose(key) => match key.verify_signature(signature, signed) {
                Ok(true) => Ok(()),
                Ok(false) => Err(WebauthnError::SignatureInvalid),
                // webauthn-rs-core reports an undecodable signature this way
                Err(webauthn_rs_core::error::WebauthnError::SignatureInvalid) => Err(
                    WebauthnError::BadSignatureEncoding(format!("not a {:?} signature", key.type_)),
                ),
                Err(e) => Err(WebauthnError::BadPublicKey(format!("{e:?}"))),
            },
            PublicKey::Ed25519(key) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| {
                    WebauthnError::BadSignatureEncoding("an Ed25519 signature is 64 bytes".into())
                })?;
                key.verify_strict(signed, &sig)
                    .map_err(|_| WebauthnError::SignatureInvalid)
            }
        }
    }
}

/// Verifies an assertion made over [`client_data_json`]`(challenge_text, rp_id)`:
/// the rpIdHash in `authenticator_data` is SHA-256(rp_id), and `signature` is
/// the credential's signature over `authenticator_data || SHA-256(clientDataJSON)`.
/// Returns the flags and counter read from `authenticator_data` (what was
/// signed). Whether UP/UV are enough, and whether the counter moved forward,
/// is the caller's decision.
pub fn verify_assertion(
    cred: &WebauthnCredential,
    rp_id: &str,
    challenge_text: &str,
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<WebauthnAssertion, WebauthnError> {
    let client_data = client_data_json(challenge_text, rp_id);
    verify_signed(
        cred,
        rp_id,
        client_data.as_bytes(),
        authenticator_data,
        signature,
    )
}

/// Verifies an assertion made by a browser, with the clientDataJSON it
/// built: `type` is `webauthn.get`, `challenge` is base64url(SHA-256(challenge_text)),
/// `origin` is one of `origins` (for instance `https://<rp_id>`), and
/// `crossOrigin` is not true; then as [`verify_assertion`].
pub fn verify_assertion_client_data(
    cred: &WebauthnCredential,
    rp_id: &str,
    origins: &[&str],
    challenge_text: &str,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<WebauthnAssertion, WebauthnError> {
    let cd: serde_json::Value = serde_json::from_slice(client_data_json)
        .map_err(|e| WebauthnError::BadClientData(format!("not JSON: {e}")))?;
    let text = |k: &str| cd.get(k).and_then(|v| v.as_str());
    if text("type") != Some("webauthn.get") {
        return Err(WebauthnError::BadClientData(
            "type is not webauthn.get".into(),
        ));
    }
    let want = URL_SAFE_NO_PAD.encode(Sha256::digest(challenge_text.as_bytes()));
    if text("challenge").map(|c| c.trim_end_matches('=')) != Some(want.as_str()) {
        return Err(WebauthnError::BadClientData(
            "challenge is not the one issued".into(),
        ));
    }
    match text("origin") {
        Some(o) if origins.contains(&o) => {}
        Some(o) => {
            return Err(WebauthnError::BadClientData(format!(
                "origin \"{o}\" is not allowed"
            )))
        }
        None => return Err(WebauthnError::BadClientData("origin is missing".into())),
    }
    if cd.get("crossOrigin").and_then(|v| v.as_bool()) == Some(true) {
        return Err(WebauthnError::BadClientData(
            "made in a cross-origin frame".into(),
        ));
    }
    verify_signed(cred, rp_id, client_data_json, authenticator_data, signature)
}

fn verify_signed(
    cred: &WebauthnCredential,
    rp_id: &str,
    client_data: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<WebauthnAssertion, WebauthnError> {
    if authenticator_data.len() < AUTHENTICATOR_DATA_MIN_LEN {
        return Err(WebauthnError::AuthenticatorDataTooShort(
            authenticator_data.len(),
        ));
    }
    let flags = authenticator_data[32];
    let counter = u32::from_be_bytes([
        authenticator_data[33],
        authenticator_data[34],
        authenticator_data[35],
        authenticator_data[36],
    ]);
    if flags & FLAG_ATTESTED_DATA != 0 {
        return Err(WebauthnError::BadAuthenticatorData(
            "attested credential data in an assertion".into(),
        ));
    }
    if flags & FLAG_EXTENSION_DATA == 0 && authenticator_data.len() != AUTHENTICATOR_DATA_MIN_LEN {
        return Err(WebauthnError::BadAuthenticatorData(
            "trailing bytes after the signature counter".into(),
        ));
    }
    let parsed = AuthenticatorData::<Authentication>::try_from(authenticator_data)
        .map_err(|e| WebauthnError::BadAuthenticatorData(format!("{e:?}")))?;
    if parsed.counter != counter
        || parsed.user_present != (flags & FLAG_USER_PRESENT != 0)
        || parsed.user_verified != (flags & FLAG_USER_VERIFIED != 0)
    {
        return Err(WebauthnError::BadAuthenticatorData(
            "inconsistent flags or counter".into(),
        ));
    }
    if authenticator_data[..32] != Sha256::digest(rp_id.as_bytes())[..] {
        return Err(WebauthnError::WrongRpId(rp_id.to_string()));
    }
    let key = PublicKey::parse(&cred.public_key_cose)?;
    let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&Sha256::digest(client_data));
    key.verify(signature, &signed)?;
    Ok(WebauthnAssertion { flags, counter })
}

/// The answer line for a WebAuthn tap:
/// `wa1.<b64url(first 8 bytes of SHA-256(credential_id))>.<b64url(authenticator_data)>.<b64url(signature)>`
/// (about 165 bytes for ES256).
pub fn encode_answer(credential_id: &[u8], authenticator_data: &[u8], signature: &[u8]) -> String {
    format!(
        "{ANSWER_PREFIX}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(credential_selector(credential_id)),
        URL_SAFE_NO_PAD.encode(authenticator_data),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A decoded answer line: (credential selector, authenticator data, signature).
pub type DecodedAnswer = ([u8; SELECTOR_LEN], Vec<u8>, Vec<u8>);

/// Parses an answer line made by [`encode_answer`]: the credential selector,
/// the authenticator data and the signature. Errors say what is wrong
/// without echoing the answer.
pub fn decode_answer(text: &str) -> Result<DecodedAnswer, String> {
    let text = text.trim();
    if text.len() > MAX_ANSWER {
        return Err(format!("the answer is longer than {MAX_ANSWER} bytes"));
    }
    let mut parts = text.split('.');
    if parts.next() != Some(ANSWER_PREFIX) {
        return Err(format!(
            "this is not a WebAuthn answer (it should start with {ANSWER_PREFIX}.)"
        ));
    }
    let (Some(sel), Some(ad), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "a WebAuthn answer has four parts: {ANSWER_PREFIX}.<credential>.<authenticator data>.<signature>"
        ));
    };
    let sel = URL_SAFE_NO_PAD
        .decode(sel)
        .map_err(|_| "the credential part is not base64url".to_string())?;
    let selector: [u8; SELECTOR_LEN] = sel
        .try_into()
        .map_err(|_| format!("the credential part is not {SELECTOR_LEN} bytes"))?;
    let authenticator_data = URL_SAFE_NO_PAD
        .decode(ad)
        .map_err(|_| "the authenticator data part is not base64url".to_string())?;
    if authenticator_data.len() < AUTHENTICATOR_DATA_MIN_LEN {
        return Err("the authenticator data is too short".into());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "the signature part is not base64url".to_string())?;
    if signature.is_empty() {
        return Err("the signature is empty".into());
    }
    Ok((selector, authenticator_data, signature))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::fido2::soft::SoftAuthenticator;
    use crate::fido2::{Authenticator, GetAssertionRequest, GetAssertionResponse};

    const RP: &str = "teleport.example.com";
    const CHALLENGE: &str = "pmfa1:prod3:jerry:q83vEjRWeJq83vEjRWeJqw";

    fn tap(a: &mut SoftAuthenticator, uv: bool) -> GetAssertionResponse {
        let req = GetAssertionRequest {
            rp_id: RP.into(),
            client_data_hash: client_data_hash(CHALLENGE, RP),
            allow_credentials: vec![a.credential_id().to_vec()],
            user_verification: uv,
            pin_uv_auth: None,
        };
        a.get_assertion(&req, Instant::now() + Duration::from_secs(5))
            .unwrap()
    }

    fn verify(
        cred: &WebauthnCredential,
        r: &GetAssertionResponse,
    ) -> Result<WebauthnAssertion, WebauthnError> {
        verify_assertion(cred, RP, CHALLENGE, &r.authenticator_data, &r.signature)
    }

    #[test]
    fn client_data_json_is_what_a_browser_builds() {
        // SHA-256("abc") = ba7816bf...f20015ad
        assert_eq!(
            client_data_json("abc", "example.com"),
            r#"{"type":"webauthn.get","challenge":"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0","origin":"https://example.com","crossOrigin":false}"#
        );
        assert_eq!(
            client_data_hash("abc", "example.com"),
            <[u8; 32]>::from(Sha256::digest(client_data_json("abc", "example.com")))
        );
        // an rp_id is a domain; anything else still makes valid JSON
        let odd: serde_json::Value = serde_json::from_str(&client_data_json("x", "a\"b")).unwrap();
        assert_eq!(odd["origin"], "https://a\"b");
    }

    #[test]
    fn accepts_a_soft_authenticator_assertion() {
        let mut a = SoftAuthenticator::from_seed(RP, b"accept");
        let cred = WebauthnCredential::from_device_spec(&a.registration()).unwrap();
        let r = tap(&mut a, false);
        let v = verify(&cred, &r).unwrap();
        assert_eq!(
            v,
            WebauthnAssertion {
                flags: FLAG_USER_PRESENT,
                counter: 1
            }
        );
        assert!(v.user_present() && !v.user_verified());
        assert_eq!(r.credential_id, cred.credential_id);
    }

    #[test]
    fn flags_come_from_the_authenticator_data() {
        let mut a = SoftAuthenticator::from_seed(RP, b"flags");
        let cred = a.credential();
        let with_uv = verify(&cred, &tap(&mut a, true)).unwrap();
        let without = verify(&cred, &tap(&mut a, false)).unwrap();
        assert_eq!(with_uv.flags, FLAG_USER_PRESENT | FLAG_USER_VERIFIED);
        assert!(with_uv.user_verified() && with_uv.user_present());
        assert_eq!(without.flags, FLAG_USER_PRESENT);
        assert!(!without.user_verified());
        assert_eq!((with_uv.counter, without.counter), (1, 2));
        // a silent assertion is reported as such
        a.user_present = false;
        let silent = verify(&cred, &tap(&mut a, false)).unwrap();
        assert!(!silent.user_present());
    }

    #[test]
    fn refuses_another_rp_id_or_challenge() {
        let mut a = SoftAuthenticator::from_seed(RP, b"rp");
        let cred = a.credential();
        let r = tap(&mut a, false);
        assert_eq!(
            verify_assertion(
                &cred,
                "evil.example.com",
                CHALLENGE,
                &r.authenticator_data,
                &r.signature
            ),
            Err(WebauthnError::WrongRpId("evil.example.com".into()))
        );
        assert_eq!(
            verify_assertion(
                &cred,
                RP,
                "pmfa1:prod3:root:q83vEjRWeJq83vEjRWeJqw",
                &r.authenticator_data,
                &r.signature
            ),
            Err(WebauthnError::SignatureInvalid)
        );
        // an authenticator for another rp, whose data names that rp
        let mut b = SoftAuthenticator::from_seed("evil.example.com", b"rp");
        let req = GetAssertionRequest {
            rp_id: "evil.example.com".into(),
            client_data_hash: client_data_hash(CHALLENGE, RP),
            allow_credentials: vec![],
            user_verification: false,
            pin_uv_auth: None,
        };
        let r = b
            .get_assertion(&req, Instant::now() + Duration::from_secs(5))
            .unwrap();
        assert!(matches!(
            verify(&b.credential(), &r),
            Err(WebauthnError::WrongRpId(_))
        ));
    }

    #[test]
    fn refuses_tampered_authenticator_data() {
        let mut a = SoftAuthenticator::from_seed(RP, b"tamper");
        let cred = a.credential();
        let r = tap(&mut a, false);
        for (i, bit) in [(32, FLAG_USER_VERIFIED), (36, 0x01), (33, 0x80), (0, 0x01)] {
            let mut ad = r.authenticator_data.clone();
            ad[i] ^= bit;
            let e = verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature).unwrap_err();
            assert!(
                matches!(
                    e,
                    WebauthnError::SignatureInvalid | WebauthnError::WrongRpId(_)
                ),
                "byte {i}: {e}"
            );
        }
        // flags that announce data which is not there, or data not announced
        let mut ad = r.authenticator_data.clone();
        ad[32] |= FLAG_EXTENSION_DATA;
        assert!(matches!(
            verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature),
            Err(WebauthnError::BadAuthenticatorData(_))
        ));
        let mut ad = r.authenticator_data.clone();
        ad.push(0);
        assert!(matches!(
            verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature),
            Err(WebauthnError::BadAuthenticatorData(_))
        ));
        let mut ad = r.authenticator_data.clone();
        ad[32] |= FLAG_ATTESTED_DATA;
        assert!(matches!(
            verify_assertion(&cred, RP, CHALLENGE, &ad, &r.signature),
            Err(WebauthnError::BadAuthenticatorData(_))
        ));
    }

    #[test]
    fn refuses_truncated_authenticator_data() {
        let mut a = SoftAuthenticator::from_seed(RP, b"short");
        let cred = a.credential();
        let r = tap(&mut a, false);
        for n in [0, 32, 36] {
            let e = verify_assertion(
                &cred,
                RP,
                CHALLENGE,
                &r.authenticator_data[..n],
                &r.signature,
            )
            .unwrap_err();
            assert_eq!(e, WebauthnError::AuthenticatorDataTooShort(n));
            assert!(e.to_string().contains("too short"));
        }
    }

    #[test]
    fn refuses_a_signature_by_another_credential() {
        let mut a = SoftAuthenticator::from_seed(RP, b"mine");
        let mut b = SoftAuthenticator::from_seed(RP, b"theirs");
        let r = tap(&mut b, false);
        assert_eq!(
            verify(&a.credential(), &r),
            Err(WebauthnError::SignatureInvalid)
        );
        let r = tap(&mut a, false);
        let mut sig = r.signature.clone();
        *sig.last_mut().unwrap() ^= 1;
        assert!(
            verify_assertion(&a.credential(), RP, CHALLENGE, &r.authenticator_data, &sig).is_err()
        );
        assert!(matches!(
            verify_assertion(
                &a.credential(),
                RP,
                CHALLENGE,
                &r.authenticator_data,
                &[1, 2, 3]
            ),
            Err(WebauthnError::BadSignatureEncoding(_))
        ));
    }

    #[test]
    fn refuses_malformed_cose_keys() {
        let mut a = SoftAuthenticator::from_seed(RP, b"cose");
        let r = tap(&mut a, false);
        let good = a.public_key_cose();
        let mut off_curve = good.clone();
        let n = off_curve.len();
        off_curve[n - 1] ^= 1; // y no longer on the curve
        let mut wrong_alg = good.clone();
        // canonical COSE_Key: {1: 2, 3: -7, -1: 1, -2: x, -3: y}
        assert_eq!(
            good[..10],
            [0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]
        );
        wrong_alg[4] = 0x38; // -25: ECDH-ES, not a signature algorithm
        for bad in [
            vec![],
            vec![0xa0],
            vec![0x01],
            good[..good.len() - 3].to_vec(),
            off_curve,
            wrong_alg,
        ] {
            let cred = WebauthnCredential {
                credential_id: a.credential_id().to_vec(),
                public_key_cose: bad.clone(),
            };
            let e = verify(&cred, &r).unwrap_err();
            assert!(
                matches!(e, WebauthnError::BadPublicKey(_)),
                "{bad:02x?}: {e}"
            );
            assert!(e.to_string().contains("COSE_Key"));
            let spec = serde_json::json!({
                "credential_id": STANDARD.encode(a.credential_id()),
                "public_key_cbor": STANDARD.encode(&bad),
            });
            assert!(WebauthnCredential::from_device_spec(&spec).is_err());
        }
    }

    #[test]
    fn device_spec_errors() {
        let a = SoftAuthenticator::from_seed(RP, b"spec");
        let key = STANDARD.encode(a.public_key_cose());
        for (spec, words) in [
            (serde_json::json!("x"), "not an object"),
            (
                serde_json::json!({"webauthn": {"public_key_cbor": key}}),
                "credential_id is missing",
            ),
            (
                serde_json::json!({"credential_id": 5, "public_key_cbor": key}),
                "not a string",
            ),
            (
                serde_json::json!({"credential_id": "!!", "public_key_cbor": key}),
                "not base64",
            ),
            (
                serde_json::json!({"credential_id": "", "public_key_cbor": key}),
                "empty",
            ),
        ] {
            let e = WebauthnCredential::from_device_spec(&spec)
                .unwrap_err()
                .to_string();
            assert!(e.contains(words), "{spec}: {e}");
        }
        // unpadded and base64url forms are read too
        let cred = a.credential();
        let spec = serde_json::json!({
            "credential_id": URL_SAFE_NO_PAD.encode(&cred.credential_id),
            "public_key_cbor": STANDARD_NO_PAD.encode(&cred.public_key_cose),
            "signature_counter": 7,
        });
        assert_eq!(WebauthnCredential::from_device_spec(&spec).unwrap(), cred);
    }

    #[test]
    fn ed25519_credentials() {
        use ed25519_dalek::Signer as _;
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let mut m = std::collections::BTreeMap::new();
        use serde_cbor_2::Value;
        m.insert(Value::Integer(1), Value::Integer(1));
        m.insert(Value::Integer(3), Value::Integer(-8));
        m.insert(Value::Integer(-1), Value::Integer(6));
        m.insert(
            Value::Integer(-2),
            Value::Bytes(sk.verifying_key().to_bytes().to_vec()),
        );
        let cred = WebauthnCredential {
            credential_id: vec![1; 16],
            public_key_cose: serde_cbor_2::to_vec(&Value::Map(m)).unwrap(),
        };
        let mut ad = Sha256::digest(RP.as_bytes()).to_vec();
        ad.push(FLAG_USER_PRESENT | FLAG_USER_VERIFIED);
        ad.extend_from_slice(&9u32.to_be_bytes());
        let mut signed = ad.clone();
        signed.extend_from_slice(&client_data_hash(CHALLENGE, RP));
        let sig = sk.sign(&signed).to_bytes();
        let v = verify_assertion(&cred, RP, CHALLENGE, &ad, &sig).unwrap();
        assert_eq!((v.flags, v.counter), (0x05, 9));
        assert_eq!(
            verify_assertion(&cred, RP, "pmfa1:x:y:z", &ad, &sig),
            Err(WebauthnError::SignatureInvalid)
        );
        assert!(matches!(
            verify_assertion(&cred, RP, CHALLENGE, &ad, &sig[..63]),
            Err(WebauthnError::BadSignatureEncoding(_))
        ));
    }

    #[test]
    fn browser_client_data() {
        let mut a = SoftAuthenticator::from_seed(RP, b"browser");
        let cred = a.credential();
        let origin = format!("https://{RP}");
        // Chrome's form, with a key order and an extra member of its own
        let cd = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{origin}","crossOrigin":false,"other_keys_can_be_added_here":"x"}}"#,
            URL_SAFE_NO_PAD.encode(Sha256::digest(CHALLENGE.as_bytes()))
        );
        let req = GetAssertionRequest {
            rp_id: RP.into(),
            client_data_hash: Sha256::digest(cd.as_bytes()).into(),
            allow_credentials: vec![],
            user_verification: true,
            pin_uv_auth: None,
        };
        let r = a
            .get_assertion(&req, Instant::now() + Duration::from_secs(5))
            .unwrap();
        let ok = verify_assertion_client_data(
            &cred,
            RP,
            &[&origin],
            CHALLENGE,
            cd.as_bytes(),
            &r.authenticator_data,
            &r.signature,
        )
        .unwrap();
        assert!(ok.user_verified());
        for (origins, challenge, words) in [
            (vec!["https://other.example"], CHALLENGE, "origin"),
            (vec![origin.as_str()], "pmfa1:a:b:c", "challenge"),
        ] {
            let e = verify_assertion_client_data(
                &cred,
                RP,
                &origins,
                challenge,
                cd.as_bytes(),
                &r.authenticator_data,
                &r.signature,
            )
            .unwrap_err();
            assert!(e.to_string().contains(words), "{e}");
        }
        let create = cd.replace("webauthn.get", "webauthn.create");
        assert!(verify_assertion_client_data(
            &cred,
            RP,
            &[&origin],
            CHALLENGE,
            create.as_bytes(),
            &r.authenticator_data,
            &r.signature
        )
        .is_err());
        // the CLI form does not verify a browser's signature and vice versa
        assert_eq!(verify(&cred, &r), Err(WebauthnError::SignatureInvalid));
    }

    #[test]
    fn answer_lines() {
        let mut a = SoftAuthenticator::from_seed(RP, b"answer");
        let cred = a.credential();
        let r = tap(&mut a, true);
        let line = encode_answer(&r.credential_id, &r.authenticator_data, &r.signature);
        assert!(line.starts_with("wa1."));
        assert!(line.len() < 400, "{} bytes", line.len());
        let (selector, ad, sig) = decode_answer(&format!(" {line}\n")).unwrap();
        assert_eq!(selector, cred.selector());
        assert_eq!(selector[..], Sha256::digest(&cred.credential_id)[..8]);
        verify_assertion(&cred, RP, CHALLENGE, &ad, &sig).unwrap();
        // the longest ES256 form: 72-byte signature, a 64-byte credential id
        let longest = encode_answer(&[0xff; 64], &[0; 37], &[0; 72]);
        assert!(longest.len() < 400, "{}", longest.len());

        for (bad, words) in [
            ("", "not a WebAuthn answer"),
            ("sk1.AAAA.AAAA", "not a WebAuthn answer"),
            ("wa1.AAAA.AAAA", "four parts"),
            ("wa1.a.b.c.d", "four parts"),
            ("wa1.!!!!.AAAA.AAAA", "base64url"),
            ("wa1.AAAA.AAAA.AAAA", "8 bytes"),
        ] {
            let e = decode_answer(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
        let short = encode_answer(&[1], &[0; 36], &[1]);
        assert!(decode_answer(&short).unwrap_err().contains("too short"));
        let no_sig = encode_answer(&[1], &[0; 37], &[]);
        assert!(decode_answer(&no_sig).unwrap_err().contains("empty"));
        assert!(decode_answer(&"wa1.".repeat(200))
            .unwrap_err()
            .contains("longer"));
    }
}
