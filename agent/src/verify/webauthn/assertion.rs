//! Assertions: the signed authenticator data and the signature over it.

use sha2::{Digest, Sha256};
use webauthn_rs_core::internals::AuthenticatorData;
use webauthn_rs_core::proto::Authentication;

use super::client_data::{check_browser_client_data, client_data_json, validate_origin};
use super::cose_key::PublicKey;
use super::{
    WebauthnCredential, WebauthnError, AUTHENTICATOR_DATA_MIN_LEN, FLAG_ATTESTED_DATA,
    FLAG_BACKUP_ELIGIBLE, FLAG_BACKUP_STATE, FLAG_EXTENSION_DATA, FLAG_USER_PRESENT,
    FLAG_USER_VERIFIED,
};

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

    /// The credential may be synced off its authenticator (BE): a passkey
    /// in a phone's or a browser's keychain, not a hardware key.
    pub fn backup_eligible(&self) -> bool {
        self.flags & FLAG_BACKUP_ELIGIBLE != 0
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

/// Verifies a tap of a legacy U2F device (Teleport's `u2f` form): the CLI's
/// clientDataJSON is built for the cluster's `rp_id` as for any tap, but the
/// authenticator signs for the U2F `app_id` (WebAuthn's `appid` extension:
/// Teleport's login flow verifies a U2F device with RPID = App ID), so the
/// rpIdHash must be SHA-256(app_id).
pub fn verify_u2f_assertion(
    cred: &WebauthnCredential,
    rp_id: &str,
    app_id: &str,
    challenge_text: &str,
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<WebauthnAssertion, WebauthnError> {
    let client_data = client_data_json(challenge_text, rp_id);
    verify_signed(
        cred,
        app_id,
        client_data.as_bytes(),
        authenticator_data,
        signature,
    )
}

/// Verifies an assertion made by a browser, with the clientDataJSON it
/// built, as Teleport does: `type` is `webauthn.get`, `challenge` is
/// base64url(SHA-256(challenge_text)), `origin` passes [`validate_origin`]
/// (https, on `rp_id` or under it, any port), `crossOrigin` is not true;
/// then the rpIdHash is SHA-256 of `signed_rp` (the rp_id, or the U2F app
/// id for a U2F device) and the signature is checked.
pub fn verify_browser_assertion(
    cred: &WebauthnCredential,
    rp_id: &str,
    signed_rp: &str,
    challenge_text: &str,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<WebauthnAssertion, WebauthnError> {
    let origin = check_browser_client_data(client_data_json, challenge_text)?;
    validate_origin(&origin, rp_id)?;
    verify_signed(
        cred,
        signed_rp,
        client_data_json,
        authenticator_data,
        signature,
    )
}

/// Verifies an assertion made by a browser, with the clientDataJSON it
/// built: as [`verify_browser_assertion`] for a WebAuthn device, with the
/// origin also one of `origins` (for instance `https://<rp_id>`).
pub fn verify_assertion_client_data(
    cred: &WebauthnCredential,
    rp_id: &str,
    origins: &[&str],
    challenge_text: &str,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<WebauthnAssertion, WebauthnError> {
    let origin = check_browser_client_data(client_data_json, challenge_text)?;
    if !origins.contains(&origin.as_str()) {
        return Err(WebauthnError::BadClientData(format!(
            "origin \"{origin}\" is not allowed"
        )));
    }
    verify_signed(cred, rp_id, client_data_json, authenticator_data, signature)
}

/// The checks every assertion gets: the authenticator data is well formed
/// and made for `signed_rp` (its rpIdHash), and the signature over it and
/// the clientDataJSON is the credential's.
fn verify_signed(
    cred: &WebauthnCredential,
    signed_rp: &str,
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
    // go-webauthn's ValidateLogin (Teleport's loginFlow.finish) refuses a
    // credential backed up that cannot be.
    if flags & FLAG_BACKUP_STATE != 0 && flags & FLAG_BACKUP_ELIGIBLE == 0 {
        return Err(WebauthnError::BadAuthenticatorData(
            "backup state set on a credential that is not backup eligible".into(),
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
    if authenticator_data[..32] != Sha256::digest(signed_rp.as_bytes())[..] {
        return Err(WebauthnError::WrongRpId(signed_rp.to_string()));
    }
    let key = PublicKey::parse(&cred.public_key_cose)?;
    let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&Sha256::digest(client_data));
    key.verify(signature, &signed)?;
    Ok(WebauthnAssertion { flags, counter })
}
