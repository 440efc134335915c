//! `mfactl tap` with a FIDO2 key (WebAuthn assertion of the challenge).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Terminal, TOUCH_DEADLINE};
use crate::challenge::ParsedChallenge;

/// Where `mfactl enroll` keeps the person's WebAuthn credential ids, one
/// `RP_ID BASE64URL_ID` per line: a FIDO2 key only answers for a credential
/// it is asked about (Teleport's credentials are not discoverable).
pub(crate) fn credential_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("pam-mfa").join("webauthn-credentials"))
}

fn known_credentials(rp_id: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let Some(text) = credential_file().and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (rp, id) = l.trim().split_once(char::is_whitespace)?;
            (rp == rp_id).then(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(id.trim())
                    .ok()
            })?
        })
        .collect()
}

/// How long a key may take over the PIN exchange (no touch involved).
const PIN_DEADLINE: Duration = Duration::from_secs(10);

/// Asks FIDO2 authenticators (USB keys; the software one in tests) for a
/// WebAuthn assertion of the challenge, with clientDataJSON as browsers
/// build it. With `uv` (the prompt says `uv=required`), a key with
/// built-in user verification is asked for it, and a key with a PIN gets
/// its PIN asked on the terminal (CTAP2 ClientPIN); without, no PIN is
/// asked.
pub(super) fn answer_with_fido2(
    c: &ParsedChallenge,
    rp_id: &str,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    let keys = crate::fido2::authenticators().map_err(|e| format!("FIDO2: {e}"))?;
    answer_with_authenticators(keys, c, rp_id, uv, tty)
}

pub(super) fn answer_with_authenticators(
    keys: Vec<Box<dyn crate::fido2::Authenticator>>,
    c: &ParsedChallenge,
    rp_id: &str,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::fido2::GetAssertionRequest;
    use crate::verify::webauthn::{client_data_hash, encode_answer};
    let base = GetAssertionRequest {
        rp_id: rp_id.to_string(),
        client_data_hash: client_data_hash(&c.text, rp_id),
        allow_credentials: known_credentials(rp_id),
        user_verification: false,
        pin_uv_auth: None,
    };
    let mut last_err = "no FIDO2 security key is connected".to_string();
    for mut a in keys {
        let req = if uv {
            match user_verification(a.as_mut(), &base, c, tty) {
                Ok(req) => req,
                Err(e) => {
                    last_err = format!("{}: {e}", a.name());
                    continue;
                }
            }
        } else {
            base.clone()
        };
        tty.say(&super::cue::touch_cue(
            c,
            &format!("{} for {rp_id}", a.name()),
        ))?;
        match a.get_assertion(&req, Instant::now() + TOUCH_DEADLINE) {
            Ok(r) => {
                return Ok(encode_answer(
                    &r.credential_id,
                    &r.authenticator_data,
                    &r.signature,
                ))
            }
            Err(e) => last_err = format!("{}: {e}", a.name()),
        }
    }
    Err(format!("FIDO2: {last_err}"))
}

/// The request with user verification: the `uv` option for a key that
/// verifies on its own, or a pinUvAuthParam from the PIN the person types
/// (asked once, for one try: a wrong PIN says how many tries are left).
fn user_verification(
    a: &mut dyn crate::fido2::Authenticator,
    base: &crate::fido2::GetAssertionRequest,
    c: &ParsedChallenge,
    tty: &mut dyn Terminal,
) -> Result<crate::fido2::GetAssertionRequest, String> {
    use crate::fido2::client_pin::{get_info, pin_retries, pin_token, UvMethod};
    let info = get_info(a, Instant::now() + PIN_DEADLINE).map_err(|e| e.to_string())?;
    let mut req = base.clone();
    match info.uv_method().map_err(|e| e.to_string())? {
        UvMethod::BuiltIn => req.user_verification = true,
        UvMethod::Pin => {
            let protocol = info
                .protocol()
                .ok_or("the key offers no PIN/UV auth protocol this client speaks")?;
            // A key that has no tries left is not asked for a PIN at all.
            let retries = pin_retries(a, protocol, Instant::now() + PIN_DEADLINE).ok();
            if retries == Some(0) {
                return Err(crate::fido2::Fido2Error::PinBlocked.to_string());
            }
            let left = match retries {
                Some(n) if n <= 3 => {
                    format!(" ({n} {} left)", if n == 1 { "try" } else { "tries" })
                }
                _ => String::new(),
            };
            let pin = tty.ask_hidden(&format!(
                "pam-mfa: {}@{} requires your security key's PIN. Enter the PIN of {}{left}: ",
                c.login,
                c.node,
                a.name()
            ))?;
            check_pin_format(&pin)?;
            let token = pin_token(a, &info, &pin, &base.rp_id, Instant::now() + PIN_DEADLINE)
                .map_err(|e| e.to_string())?;
            req.pin_uv_auth = Some(token.auth_param(&base.client_data_hash));
        }
    }
    Ok(req)
}

/// What CTAP2 takes as a PIN: 4 to 63 bytes of UTF-8, at least 4
/// characters. Anything else is refused here, before it costs one of the
/// key's tries.
pub(super) fn check_pin_format(pin: &str) -> Result<(), String> {
    if pin.is_empty() {
        return Err("no PIN was entered".into());
    }
    if pin.chars().count() < 4 || pin.len() > 63 {
        return Err(
            "a security key PIN has 4 to 63 characters (nothing was sent to the key)".into(),
        );
    }
    Ok(())
}
