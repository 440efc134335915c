//! Answers made by the browser approval page (`web/approval.js`).
//!
//! A browser builds its own clientDataJSON, and the signature covers its
//! SHA-256, so the agent needs its exact bytes. Sent whole it would not fit
//! PAM's 512-byte response beside a signature (Chrome sometimes appends a
//! ~110-byte `other_keys_can_be_added_here` member). Most of it is what the
//! agent knows already: the answer carries only what the agent cannot
//! rebuild, and the agent rebuilds the bytes, then checks them as any
//! browser's clientDataJSON ([`verify_assertion_client_data`]: type,
//! challenge, origin, crossOrigin) and the signature over them. A wrong
//! rebuild cannot verify: the signature is over the browser's bytes.
//!
//! The line: `wb1.<selector>.<authenticatorData>.<signature>.<origin>.<form>.<data>`
//! (base64url without padding; selector as in `wa1.`; `<origin>` is the first
//! 4 bytes of SHA-256 of the page's origin, so an answer made on another
//! origin is refused with that reason rather than as a bad signature), where
//! `<form>` is
//! - `t`: clientDataJSON is [`template_prefix`] followed by `<data>`;
//! - `tz`: the same with `<data>` deflate-raw compressed;
//! - `c`: [`template_prefix`] followed by [`CHROME_EXTRA_MEMBER`] (no data);
//! - `w`: `<data>` is the whole clientDataJSON;
//! - `wz`: the same, deflate-raw compressed.
//!
//! Inflating stops at [`MAX_CLIENT_DATA`] bytes (a small input cannot
//! expand into a large allocation).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::webauthn::{
    credential_selector, verify_assertion_client_data, WebauthnAssertion, WebauthnCredential,
    WebauthnError, AUTHENTICATOR_DATA_MIN_LEN, SELECTOR_LEN,
};

/// Prefix of a browser answer line.
pub const BROWSER_ANSWER_PREFIX: &str = "wb1";
/// The longest clientDataJSON accepted (after inflating).
pub const MAX_CLIENT_DATA: usize = 1024;
/// The member Chrome appends to some clientDataJSON, and the closing brace.
pub const CHROME_EXTRA_MEMBER: &str = r#","other_keys_can_be_added_here":"do not compare clientDataJSON against a template. See https://goo.gl/yabPex"}"#;

/// How the answer gives the browser's clientDataJSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowserClientData {
    /// What follows [`template_prefix`] (forms `t`, `tz`, `c`).
    AfterTemplate(Vec<u8>),
    /// All of it (forms `w`, `wz`).
    Whole(Vec<u8>),
}

impl BrowserClientData {
    /// The clientDataJSON for `challenge_text` made on `origin`.
    pub fn rebuild(&self, challenge_text: &str, origin: &str) -> Vec<u8> {
        match self {
            BrowserClientData::Whole(bytes) => bytes.clone(),
            BrowserClientData::AfterTemplate(rest) => {
                let mut out = template_prefix(challenge_text, origin).into_bytes();
                out.extend_from_slice(rest);
                out
            }
        }
    }
}

/// A decoded browser answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserAnswer {
    pub selector: [u8; SELECTOR_LEN],
    pub authenticator_data: Vec<u8>,
    pub signature: Vec<u8>,
    /// [`origin_tag`] of the origin the page ran on.
    pub origin_tag: [u8; ORIGIN_TAG_LEN],
    pub client_data: BrowserClientData,
}

/// Length of the origin tag in a browser answer.
pub const ORIGIN_TAG_LEN: usize = 4;

/// The first 4 bytes of SHA-256(origin).
pub fn origin_tag(origin: &str) -> [u8; ORIGIN_TAG_LEN] {
    let d = Sha256::digest(origin.as_bytes());
    [d[0], d[1], d[2], d[3]]
}

/// How browsers begin clientDataJSON for `navigator.credentials.get` in a
/// top-level page (WebAuthn's CollectedClientData serialisation, up to
/// `crossOrigin`, without the closing brace).
pub fn template_prefix(challenge_text: &str, origin: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(challenge_text.as_bytes()));
    let origin = serde_json::Value::String(origin.to_string()).to_string();
    format!(
        r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":{origin},"crossOrigin":false"#
    )
}

/// Verifies a browser answer to `challenge_text` made on `origin` (the
/// approval page's origin) for `rp_id`: the rebuilt clientDataJSON as any
/// browser's, then the signature; flags and counter come from what was
/// signed, for the caller to judge.
pub fn verify_browser_answer(
    cred: &WebauthnCredential,
    rp_id: &str,
    origin: &str,
    challenge_text: &str,
    answer: &BrowserAnswer,
) -> Result<WebauthnAssertion, WebauthnError> {
    if matches!(answer.client_data, BrowserClientData::AfterTemplate(_))
        && answer.origin_tag != origin_tag(origin)
    {
        return Err(WebauthnError::BadClientData(format!(
            "the answer was made on another origin than the approval page ({origin})"
        )));
    }
    let client_data = answer.client_data.rebuild(challenge_text, origin);
    verify_assertion_client_data(
        cred,
        rp_id,
        &[origin],
        challenge_text,
        &client_data,
        &answer.authenticator_data,
        &answer.signature,
    )
}

/// Parses a `wb1.` line (already known to be at most 512 bytes). Errors say
/// what is wrong without echoing the answer.
pub fn decode_browser_answer(text: &str) -> Result<BrowserAnswer, String> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let [prefix, sel, ad, sig, tag, form, data] = parts[..] else {
        return Err(format!(
            "a browser answer has seven parts: {BROWSER_ANSWER_PREFIX}.<credential>.<authenticator data>.<signature>.<origin>.<form>.<client data>"
        ));
    };
    if prefix != BROWSER_ANSWER_PREFIX {
        return Err(format!(
            "this is not a browser answer (it should start with {BROWSER_ANSWER_PREFIX}.)"
        ));
    }
    let b64 = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("the {what} part is not base64url"))
    };
    let selector: [u8; SELECTOR_LEN] = b64(sel, "credential")?
        .try_into()
        .map_err(|_| format!("the credential part is not {SELECTOR_LEN} bytes"))?;
    let authenticator_data = b64(ad, "authenticator data")?;
    if authenticator_data.len() < AUTHENTICATOR_DATA_MIN_LEN {
        return Err("the authenticator data is too short".into());
    }
    let signature = b64(sig, "signature")?;
    if signature.is_empty() {
        return Err("the signature is empty".into());
    }
    let origin_tag: [u8; ORIGIN_TAG_LEN] = b64(tag, "origin")?
        .try_into()
        .map_err(|_| format!("the origin part is not {ORIGIN_TAG_LEN} bytes"))?;
    let data = b64(data, "client data")?;
    let client_data = match form {
        "t" => BrowserClientData::AfterTemplate(data),
        "tz" => BrowserClientData::AfterTemplate(inflate(&data)?),
        "c" if data.is_empty() => {
            BrowserClientData::AfterTemplate(CHROME_EXTRA_MEMBER.as_bytes().to_vec())
        }
        "c" => return Err("the client data form c carries no data".into()),
        "w" => BrowserClientData::Whole(data),
        "wz" => BrowserClientData::Whole(inflate(&data)?),
        _ => return Err("unknown client data form (t, tz, c, w or wz)".into()),
    };
    let len = match &client_data {
        BrowserClientData::AfterTemplate(d) | BrowserClientData::Whole(d) => d.len(),
    };
    if len > MAX_CLIENT_DATA {
        return Err(format!(
            "the client data is longer than {MAX_CLIENT_DATA} bytes"
        ));
    }
    Ok(BrowserAnswer {
        selector,
        authenticator_data,
        signature,
        origin_tag,
        client_data,
    })
}

/// Inflates deflate-raw data, refusing more than [`MAX_CLIENT_DATA`] bytes.
fn inflate(data: &[u8]) -> Result<Vec<u8>, String> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(data, MAX_CLIENT_DATA).map_err(|e| {
        match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                format!("the compressed client data inflates to more than {MAX_CLIENT_DATA} bytes")
            }
            _ => "the compressed client data is not deflate-raw".into(),
        }
    })
}

/// The line of a parsed answer (uncompressed forms; `Answer::encode`).
pub fn encode_parsed(a: &BrowserAnswer) -> String {
    let (form, data) = match &a.client_data {
        BrowserClientData::AfterTemplate(rest) if rest == CHROME_EXTRA_MEMBER.as_bytes() => {
            ("c", &[][..])
        }
        BrowserClientData::AfterTemplate(rest) => ("t", rest.as_slice()),
        BrowserClientData::Whole(all) => ("w", all.as_slice()),
    };
    line(
        &a.selector,
        &a.authenticator_data,
        &a.signature,
        &a.origin_tag,
        form,
        data,
    )
}

fn line(
    selector: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    tag: &[u8],
    form: &str,
    data: &[u8],
) -> String {
    format!(
        "{BROWSER_ANSWER_PREFIX}.{}.{}.{}.{}.{form}.{}",
        URL_SAFE_NO_PAD.encode(selector),
        URL_SAFE_NO_PAD.encode(authenticator_data),
        URL_SAFE_NO_PAD.encode(signature),
        URL_SAFE_NO_PAD.encode(tag),
        URL_SAFE_NO_PAD.encode(data)
    )
}

/// The shortest answer line for an assertion made by a browser whose
/// clientDataJSON is `client_data` (what `web/approval.js` does; tests and
/// tools use it).
pub fn encode_browser_answer(
    credential_id: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    client_data: &[u8],
    challenge_text: &str,
    origin: &str,
) -> String {
    let deflate = |d: &[u8]| miniz_oxide::deflate::compress_to_vec(d, 9);
    let mut forms: Vec<(&str, Vec<u8>)> =
        vec![("w", client_data.to_vec()), ("wz", deflate(client_data))];
    let prefix = template_prefix(challenge_text, origin);
    if let Some(rest) = client_data.strip_prefix(prefix.as_bytes()) {
        if rest == CHROME_EXTRA_MEMBER.as_bytes() {
            forms.push(("c", Vec::new()));
        }
        forms.push(("t", rest.to_vec()));
        forms.push(("tz", deflate(rest)));
    }
    let (form, data) = forms
        .into_iter()
        .min_by_key(|(f, d)| f.len() + URL_SAFE_NO_PAD.encode(d).len())
        .expect("at least the whole form");
    line(
        &credential_selector(credential_id),
        authenticator_data,
        signature,
        &origin_tag(origin),
        form,
        &data,
    )
}

#[cfg(test)]
#[path = "webauthn_browser_tests.rs"]
mod tests;
