//! clientDataJSON: what the CLI builds as a browser would, and what a
//! browser's must say (type, challenge, origin).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::WebauthnError;

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

/// Teleport's origin rule for WebAuthn (`lib/auth/webauthn` `validateOrigin`):
/// the origin's host is the rp_id or a subdomain of it, on any port. Stricter
/// here: the scheme must be https, and the origin is `https://HOST[:PORT]`
/// only (no user, path, query or fragment; no empty label in the host).
pub fn validate_origin(origin: &str, rp_id: &str) -> Result<(), WebauthnError> {
    let bad = |why: &str| Err(WebauthnError::BadOrigin(format!("\"{origin}\" {why}")));
    let Some(authority) = origin.strip_prefix("https://") else {
        return bad("is not an https origin");
    };
    if authority.contains(['/', '?', '#', '@', '[', ']', '\\']) || authority.is_empty() {
        return bad("must be https://HOST[:PORT] only");
    }
    let host = match authority.split_once(':') {
        Some((host, port)) => {
            let port_ok = !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
            if !port_ok {
                return bad("has a port that is not a number from 1 to 65535");
            }
            host
        }
        None => authority,
    };
    if rp_id.is_empty() || host.split('.').any(str::is_empty) {
        return bad("has no host, or an empty label in it");
    }
    let under_rp = host
        .strip_suffix(rp_id)
        .is_some_and(|prefix| prefix.is_empty() || prefix.ends_with('.'));
    if !under_rp {
        return bad(&format!("is not on \"{rp_id}\" or a subdomain of it"));
    }
    Ok(())
}

/// A browser's clientDataJSON: `type` is `webauthn.get`, `challenge` is
/// base64url(SHA-256(challenge_text)) without padding, exactly, and it was not made in a
/// cross-origin frame. Returns its `origin`, for the caller's origin rule.
pub(super) fn check_browser_client_data(
    client_data_json: &[u8],
    challenge_text: &str,
) -> Result<String, WebauthnError> {
    let cd: serde_json::Value = serde_json::from_slice(client_data_json)
        .map_err(|e| WebauthnError::BadClientData(format!("not JSON: {e}")))?;
    let text = |k: &str| cd.get(k).and_then(|v| v.as_str());
    if text("type") != Some("webauthn.get") {
        return Err(WebauthnError::BadClientData(
            "type is not webauthn.get".into(),
        ));
    }
    // Exactly the string issued: base64url without padding, as WebAuthn's
    // CollectedClientData has it. go-webauthn's `CollectedClientData.Verify`
    // (protocol/client.go) compares it byte for byte, and Teleport finds
    // the session by that string; a padded form is another string. (The
    // challenge is public, in the prompt: the comparison need not be
    // constant time.)
    let want = URL_SAFE_NO_PAD.encode(Sha256::digest(challenge_text.as_bytes()));
    if text("challenge") != Some(want.as_str()) {
        return Err(WebauthnError::BadClientData(
            "challenge is not the one issued".into(),
        ));
    }
    if cd.get("crossOrigin").and_then(|v| v.as_bool()) == Some(true) {
        return Err(WebauthnError::BadClientData(
            "made in a cross-origin frame".into(),
        ));
    }
    text("origin")
        .map(str::to_owned)
        .ok_or_else(|| WebauthnError::BadClientData("origin is missing".into()))
}
