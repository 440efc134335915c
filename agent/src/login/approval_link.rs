//! The browser approval page: the link a challenge prompt shows, and the
//! check of the answers the page makes.
//!
//! The link is `approval_url` with the challenge, the cluster user, the
//! expiry, the rp_id, whether user verification is needed, and the
//! registered WebAuthn credential ids in the URL fragment, which browsers
//! never send to the web server: `#c=<challenge>&u=<user>&e=<unix
//! seconds>&r=<rp_id>[&uv=1]&k=<id>,<id>` (base64url ids, most recent
//! first, as many as fit PAM's 512-byte message). It is an info message
//! right before the answer prompt: sshd shows info text only together with
//! the next prompt, joined to it.

use std::time::UNIX_EPOCH;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pam_mfa_protocol::{Prompt, PromptStyle};

use super::evidence::KeyClass;
use super::tap::{ApprovalLink, Conversation, TapDevice};
use super::tap_credential::TapCredential;
use crate::policy::Bundle;
use crate::state::AgentState;
use crate::verify::webauthn::WebauthnCredential;
use crate::verify::webauthn_browser::{verify_browser_answer, BrowserAnswer};

/// What the words around the link take.
const LINK_LEAD: &str = "pam-mfa: or approve in a browser: ";
/// PAM's message limit without its NUL.
const MAX_MESSAGE: usize = 511;

/// The approval page for a tap, when `approval_url` is set and
/// the cluster has an rp_id. `Err`: it is set but cannot work with this
/// bundle (the host is not at or under the rp_id); the link is then not
/// shown and the reason goes to the audit trail.
pub(super) fn approval_for(
    state: &AgentState,
    bundle: &Bundle,
) -> Result<Option<ApprovalLink>, String> {
    let Some(url) = state.config.approval_url.clone() else {
        return Ok(None);
    };
    let Some(rp_id) = bundle.cap.webauthn_rp_id.clone() else {
        return Err("approval_url is set but the cluster has no webauthn.rp_id: the approval link is not shown".into());
    };
    url.check_rp_id(&rp_id)?;
    Ok(Some(ApprovalLink { url, rp_id }))
}

/// Whether `approval_url` works with the policy in force, for `mfactl
/// status`: `None` when it is not set.
pub fn approval_status(state: &AgentState) -> Option<String> {
    let url = state.config.approval_url.as_ref()?;
    let bundle = state.store.current();
    let rp = bundle.as_ref().and_then(|b| b.cap.webauthn_rp_id.clone());
    Some(match rp {
        None => format!("{url} (NOT SHOWN: the policy in force has no webauthn.rp_id)"),
        Some(rp) => match url.check_rp_id(&rp) {
            Ok(()) => format!("{url} (origin {}, rp_id {rp})", url.origin()),
            Err(e) => format!("{url} (NOT SHOWN: {e})"),
        },
    })
}

/// Percent-encodes all but URL-unreserved characters and `:`.
fn fragment_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Conversation {
    /// The info message with the link for the current challenge, or `None`
    /// when there is no approval page (or no room for the link at all).
    pub(super) fn approval_prompt(&self) -> Option<Prompt> {
        let link = self.approval.as_ref()?;
        // The keys that can answer on the page: WebAuthn credentials of the
        // devices this tap accepts (locked ones and keys the agent cannot
        // read are not among them), most recent first across every person
        // who may tap. Legacy U2F devices sign for the app id, which the
        // page does not ask for: they stay with `mfactl tap`. With none
        // left, the page could only find discoverable credentials, which
        // Teleport's MFA keys are not: no link.
        let credential_ids: Vec<&[u8]> = self
            .webauthn_credentials()
            .into_iter()
            .filter(|c| c.app_id.is_none())
            .map(|c| c.credential_id.as_slice())
            .collect();
        if credential_ids.is_empty() {
            return None;
        }
        let expires = self
            .challenge
            .expires
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut text = format!(
            "{LINK_LEAD}{}#c={}&u={}&e={expires}&r={}&o={}",
            link.url.base(),
            fragment_value(&self.challenge.text()),
            fragment_value(&self.user),
            fragment_value(&link.rp_id),
            fragment_value(&link.url.origin()),
        );
        if self.tap_requirement().key_policy.needs_pin() {
            text.push_str("&uv=1");
        }
        if text.len() > MAX_MESSAGE {
            return None;
        }
        let mut sep = "&k=";
        for id in credential_ids {
            let piece = format!("{sep}{}", URL_SAFE_NO_PAD.encode(id));
            if text.len() + piece.len() > MAX_MESSAGE {
                break;
            }
            text.push_str(&piece);
            sep = ",";
        }
        Some(Prompt {
            style: PromptStyle::Info,
            text,
        })
    }

    /// Checks an answer made by the approval page: the origin is the
    /// approval page's, then as any WebAuthn tap (rpIdHash, signature,
    /// flags and counter as signed).
    pub(super) fn verify_browser(
        &self,
        state: &AgentState,
        device: &TapDevice,
        cred: &TapCredential,
        answer: &BrowserAnswer,
    ) -> Result<KeyClass, String> {
        if cred.app_id.is_some() {
            return Err(format!(
                "{} is a legacy U2F key, which signs for the app id: answer with mfactl tap",
                device.name
            ));
        }
        let link = self.approval.as_ref().ok_or(
            "this node shows no approval page (approval_url is not set or does not fit the rp_id)",
        )?;
        let signed = verify_browser_answer(
            cred,
            &link.rp_id,
            &link.url.origin(),
            &self.challenge.text(),
            answer,
        )
        .map_err(|e| {
            format!(
                "the approval page's answer by {} does not verify: {e}",
                device.name
            )
        })?;
        // As a `mfactl tap` WebAuthn answer.
        self.accept_webauthn(state, &signed, cred, device)
    }

    /// Whether `answer` verifies over `text` (another challenge) by `cred`:
    /// only to word a refusal (see `answer_origin`).
    pub(super) fn browser_signed(
        &self,
        cred: &WebauthnCredential,
        answer: &BrowserAnswer,
        text: &str,
    ) -> bool {
        self.approval.as_ref().is_some_and(|link| {
            verify_browser_answer(cred, &link.rp_id, &link.url.origin(), text, answer).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fragment_value;

    #[test]
    fn fragment_values_are_percent_encoded() {
        assert_eq!(
            fragment_value("pmfa1:prod3:jerry:Bw-_"),
            "pmfa1:prod3:jerry:Bw-_"
        );
        assert_eq!(
            fragment_value("one of a, b&c=d#"),
            "one%20of%20a%2C%20b%26c%3Dd%23"
        );
    }
}
