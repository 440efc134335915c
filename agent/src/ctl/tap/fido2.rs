//! `mfactl tap` with a FIDO2 key (WebAuthn assertion of the challenge).
//!
//! The key is asked about the credentials the prompt names (`cred=`: the
//! candidates' registered credentials, Teleport's own included, with the
//! `cred+=` info lines the agent adds when they do not all fit the
//! question; `cred_more=N` says how many those hold), so a key registered
//! with `tsh mfa add` answers with no local file; an older prompt without
//! `cred=` falls back to the ids `mfactl enroll` kept in
//! [`credential_file`], and so does a prompt whose `cred+=` lines did not
//! reach mfactl (added to the ids it has, never instead of them). A legacy U2F credential signs for
//! the prompt's `app_id=` (WebAuthn's `appid` extension): asked again for
//! it when the key has no credential for the rp_id.

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

/// What the prompt says a FIDO2 key may answer for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FidoTarget {
    /// `rp_id=`: what the clientDataJSON and a WebAuthn credential are for.
    pub(super) rp_id: String,
    /// `app_id=`: what a legacy U2F credential signs for.
    pub(super) app_id: Option<String>,
    /// `cred=` and `cred+=`: the credential ids to ask about (None: an
    /// older prompt).
    pub(super) credential_ids: Option<Vec<Vec<u8>>>,
    /// How many of the ids `cred_more=` announced are not in the text
    /// mfactl was given (only the question was pasted).
    pub(super) missing: usize,
}

impl FidoTarget {
    /// The target named by a prompt's `rp_id=`, `app_id=`, `cred=`,
    /// `cred+=` and `cred_more=` words.
    pub(super) fn from_prompt(text: &str, rp_id: String) -> FidoTarget {
        let first = super::token(text, "cred=").map(|list| decode_ids(&list));
        let more: Vec<Vec<u8>> = text
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("cred+="))
            .flat_map(decode_ids)
            .collect();
        let announced = super::token(text, "cred_more=")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let missing = announced.saturating_sub(more.len());
        let credential_ids = match (first, more.is_empty()) {
            (None, true) if announced == 0 => None,
            (first, _) => {
                let mut ids = first.unwrap_or_default();
                for id in more {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Some(ids)
            }
        };
        FidoTarget {
            rp_id,
            app_id: super::token(text, "app_id=").filter(|a| !a.is_empty()),
            credential_ids,
            missing,
        }
    }

    /// The allowList: the prompt's ids, else the ones kept by enroll; both
    /// when some of the prompt's ids did not reach mfactl.
    fn allow_list(&self) -> Vec<Vec<u8>> {
        match &self.credential_ids {
            Some(ids) if self.missing == 0 => ids.clone(),
            Some(ids) => {
                let mut all = ids.clone();
                for id in known_credentials(&self.rp_id) {
                    if !all.contains(&id) {
                        all.push(id);
                    }
                }
                all
            }
            None => known_credentials(&self.rp_id),
        }
    }
}

/// The longest credential id WebAuthn allows (Level 2, §6.5.1 Attested
/// Credential Data: `credentialIdLength` is at most 1023). A longer one is
/// no key's credential, and in the allowList it would only make the
/// getAssertion request too long for CTAPHID, failing the ids that are
/// real along with it.
pub(super) const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// Base64url credential ids separated by commas; others (not base64url,
/// empty, or longer than [`MAX_CREDENTIAL_ID_LEN`]) are skipped.
fn decode_ids(list: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    list.split(',')
        .filter_map(|id| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(id)
                .ok()
        })
        .filter(|id| !id.is_empty() && id.len() <= MAX_CREDENTIAL_ID_LEN)
        .collect()
}

/// The credential ids `mfactl tap` asks a FIDO2 key about for this
/// prompt text (None: the prompt names none; the enroll file is used).
/// Also for the `tap_prompt` fuzz target (`cfg(fuzzing)`: cargo-fuzz).
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub fn prompt_credential_ids(text: &str) -> Option<Vec<Vec<u8>>> {
    FidoTarget::from_prompt(text, String::new()).credential_ids
}

/// How many ids the prompt's `cred_more=` announced that its `cred+=`
/// words do not hold (for the `tap_prompt` fuzz target).
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn prompt_missing_ids(text: &str) -> usize {
    FidoTarget::from_prompt(text, String::new()).missing
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
    target: &FidoTarget,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    let keys = crate::fido2::authenticators().map_err(|e| format!("FIDO2: {e}"))?;
    answer_with_authenticators(keys, c, target, uv, tty)
}

pub(super) fn answer_with_authenticators(
    keys: Vec<Box<dyn crate::fido2::Authenticator>>,
    c: &ParsedChallenge,
    target: &FidoTarget,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    let mut last_err = "no FIDO2 security key is connected".to_string();
    for mut a in keys {
        match assert_with_key(a.as_mut(), c, target, uv, tty) {
            Ok(answer) => return Ok(answer),
            Err(e) => last_err = format!("{}: {e}", a.name()),
        }
    }
    Err(format!("FIDO2: {last_err}"))
}

/// One key's assertion: for the rp_id, then (a legacy U2F credential) for
/// the app id when the key has no credential for the rp_id.
fn assert_with_key(
    a: &mut dyn crate::fido2::Authenticator,
    c: &ParsedChallenge,
    target: &FidoTarget,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    let first = assert_for(a, c, target, &target.rp_id, uv, tty);
    match (&first, &target.app_id) {
        (Err(AssertError::NoCredentials(_)), Some(app_id)) => {
            assert_for(a, c, target, app_id, uv, tty)
        }
        _ => first,
    }
    .map_err(|e| match e {
        AssertError::NoCredentials(e) | AssertError::Other(e) => e,
    })
}

/// Why a key gave no assertion.
enum AssertError {
    /// It holds none of the credentials asked about for this rp.
    NoCredentials(String),
    Other(String),
}

/// An assertion of the challenge (clientDataJSON for the target's rp_id)
/// by credentials of `signing_rp`.
fn assert_for(
    a: &mut dyn crate::fido2::Authenticator,
    c: &ParsedChallenge,
    target: &FidoTarget,
    signing_rp: &str,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, AssertError> {
    use crate::fido2::{Fido2Error, GetAssertionRequest};
    use crate::verify::webauthn::{client_data_hash, encode_answer};
    let base = GetAssertionRequest {
        rp_id: signing_rp.to_string(),
        client_data_hash: client_data_hash(&c.text, &target.rp_id),
        allow_credentials: target.allow_list(),
        user_verification: false,
        pin_uv_auth: None,
    };
    let req = if uv {
        user_verification(a, &base, c, tty).map_err(AssertError::Other)?
    } else {
        base
    };
    tty.say(&super::cue::touch_cue(
        c,
        &format!("{} for {signing_rp}", a.name()),
    ))
    .map_err(AssertError::Other)?;
    match a.get_assertion(&req, Instant::now() + TOUCH_DEADLINE) {
        Ok(r) => Ok(encode_answer(
            &r.credential_id,
            &r.authenticator_data,
            &r.signature,
        )),
        Err(e @ Fido2Error::NoCredentials) => Err(AssertError::NoCredentials(e.to_string())),
        Err(e) => Err(AssertError::Other(e.to_string())),
    }
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
