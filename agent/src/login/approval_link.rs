//! The browser approval page: the link a challenge prompt shows, and the
//! check of the answers the page makes.
//!
//! The link is `approval_url` with the challenge, the expiry, the rp_id,
//! the approval origin, whether user verification is needed, the PAM
//! service and source address of the login, the cluster users whose keys
//! it holds and their registered WebAuthn credential ids in the URL
//! fragment, which browsers never send to the web server:
//! `#c=<challenge>&e=<unix seconds>&r=<rp_id>&o=<origin>[&uv=1]&s=<service>
//! [&h=<rhost>]&u=<users>&k=<id>,<id>` (base64url ids). Every id of every
//! candidate is in a link: when they do not fit one PAM message (511
//! bytes), there are several links, each labelled with whose keys it holds
//! (`prompt_packing`). Only the challenge is signed: `u`, `s` and `h` are
//! what the link says, and the page shows them as such. The links are info
//! messages right before the answer prompt: sshd shows info text only
//! together with the next prompt, joined to it.

use std::time::UNIX_EPOCH;

use pam_mfa_protocol::{Prompt, PromptStyle};

use super::evidence::KeyClass;
use super::prompt_packing::{id_count, pack_links, LinkGroup, Overflow, MAX_LINK_MESSAGES};
use super::tap::{ApprovalLink, Conversation, TapDevice};
use super::tap_credential::TapCredential;
use crate::policy::Bundle;
use crate::state::AgentState;
use crate::verify::webauthn::WebauthnCredential;
use crate::verify::webauthn_browser::{verify_browser_answer, BrowserAnswer};

/// What starts each link's message.
const LINK_LEAD: &str = "pam-mfa: or approve in a browser";
/// PAM's message limit without its NUL.
const MAX_MESSAGE: usize = super::prompt_packing::PAM_MESSAGE_ROOM;

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
    /// The info messages with the links for the current challenge: one
    /// when every candidate's ids fit, else several, each a complete URL
    /// labelled with whose keys it holds (`prompt_packing::pack_links`).
    /// None when there is no approval page; past the bounds, a notice
    /// saying how many keys there are instead of a link that would leave
    /// some out.
    pub(super) fn approval_prompts(&self) -> Vec<Prompt> {
        let Some(link) = self.approval.as_ref() else {
            return Vec::new();
        };
        // The keys that can answer on the page: WebAuthn credentials of the
        // devices this tap accepts (locked ones and keys the agent cannot
        // read are not among them), every one of every person who may tap,
        // as Teleport's `loginFlow.begin` (lib/auth/webauthn/login.go) puts
        // all of a user's devices in allowCredentials. Legacy U2F devices
        // sign for the app id, which the page does not ask for: they stay
        // with `mfactl tap`. With none left, the page could only find
        // discoverable credentials, which Teleport's MFA keys are not: no
        // link.
        let people = self.credential_ids_by_person(|c| c.app_id.is_none());
        if people.is_empty() {
            return Vec::new();
        }
        let info = |text: String| Prompt {
            style: PromptStyle::Info,
            text,
        };
        let fragment = self.link_fragment(link);
        let render = |group: &LinkGroup, labelled: bool| {
            let lead = if labelled {
                format!("{LINK_LEAD} (keys of {})", group.users.join(", "))
            } else {
                LINK_LEAD.to_string()
            };
            format!(
                "{lead}: {fragment}&u={}&k={}",
                fragment_value(&group.users.join(", ")),
                group.ids.join(",")
            )
        };
        let whole = LinkGroup {
            users: people.iter().map(|p| p.user.as_str()).collect(),
            ids: people
                .iter()
                .flat_map(|p| &p.ids)
                .map(String::as_str)
                .collect(),
        };
        let one = render(&whole, false);
        if one.len() <= MAX_MESSAGE {
            return vec![info(one)];
        }
        match pack_links(&people, |g| render(g, true).len() <= MAX_MESSAGE) {
            Ok(groups) => groups.iter().map(|g| info(render(g, true))).collect(),
            Err(over) => {
                let why = match over {
                    Overflow::NoRoom => "a link has no room for a key beside the challenge".into(),
                    Overflow::TooMany { needed } => {
                        format!("they need {needed} links, at most {MAX_LINK_MESSAGES} are shown")
                    }
                };
                vec![info(format!(
                    "pam-mfa: no browser approval link: the {} security keys that may answer do not fit the login prompt ({why}); use mfactl tap",
                    id_count(&people)
                ))]
            }
        }
    }

    /// The link up to its `&u=` and `&k=`: the page, the challenge, the
    /// expiry, the rp_id, the approval origin, `uv=1` when the tap needs
    /// user verification, and who asks (the PAM service and the login's
    /// source address, unsigned: the page shows them as the link's word).
    fn link_fragment(&self, link: &ApprovalLink) -> String {
        let expires = self
            .challenge
            .expires
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut text = format!(
            "{}#c={}&e={expires}&r={}&o={}",
            link.url.base(),
            fragment_value(&self.challenge.text()),
            fragment_value(&link.rp_id),
            fragment_value(&link.url.origin()),
        );
        if self.tap_requirement().key_policy.needs_pin() {
            text.push_str("&uv=1");
        }
        text.push_str(&format!("&s={}", fragment_value(&self.service)));
        if let Some(rhost) = self.rhost.as_deref().filter(|h| !h.is_empty()) {
            text.push_str(&format!("&h={}", fragment_value(rhost)));
        }
        text
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
