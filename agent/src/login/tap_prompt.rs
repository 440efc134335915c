//! The challenge prompt of a tap, and the words in it that tell `mfactl
//! tap` which keys may answer: `rp_id=` (and `app_id=` for legacy U2F
//! devices) with `cred=`, the user's WebAuthn credential ids, most recent
//! first, as many as fit PAM's 512-byte message (a FIDO2 key answers only
//! for a credential it is asked about: Teleport's MFA credentials are not
//! discoverable); `piv=` slots; `uv=required`; `answers=named`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pam_mfa_protocol::{Prompt, PromptStyle, ResponseBody};

use super::tap::{Conversation, TapKind};
use super::tap_credential::TapCredential;

/// The longest message PAM carries, without its NUL.
const PAM_MESSAGE_ROOM: usize = 511;

impl Conversation {
    /// The prompt for this conversation's challenge, after `error` if any.
    pub(super) fn prompt(&self, error: Option<&str>) -> ResponseBody {
        let mut prompts = Vec::new();
        if let Some(e) = error {
            prompts.push(Prompt {
                style: PromptStyle::Error,
                text: format!("pam-mfa: {e}"),
            });
        }
        prompts.push(Prompt {
            style: PromptStyle::Info,
            text: format!(
                "pam-mfa: {} requires MFA ({}) for {}. Tap your security key: on your computer run `mfactl tap {}` (or use mfactl as SSH_ASKPASS), then enter its answer.",
                self.challenge.node,
                self.requirement.name(),
                self.user,
                // Also here: sudo -p and SUDO_PROMPT replace the prompt text.
                self.challenge.text()
            ),
        });
        // The browser approval page's link, right before the answer prompt
        // (OpenSSH shows info text only together with the next prompt).
        prompts.extend(self.approval_prompt());
        prompts.push(Prompt {
            style: PromptStyle::EchoOn,
            text: self.question(),
        });
        ResponseBody::Prompt { prompts }
    }

    /// `MFA challenge <text> [rp_id= [app_id=] cred=] [piv=] [uv=required]
    /// answers=named answer: `, within PAM's message size.
    fn question(&self) -> String {
        let head = format!(
            "MFA challenge {}{}{}",
            self.challenge.text(),
            self.relying_party_words(),
            self.piv_word()
        );
        let tail = format!(
            "{} {} answer: ",
            self.uv_word(),
            crate::challenge::CLAIMS_WELCOME
        );
        let room = PAM_MESSAGE_ROOM.saturating_sub(head.len() + tail.len());
        format!(
            "{head}{}{tail}",
            credential_word(&self.webauthn_credentials(), room)
        )
    }

    /// The conversation's WebAuthn credentials, most recent first.
    pub(super) fn webauthn_credentials(&self) -> Vec<&TapCredential> {
        let mut creds: Vec<&TapCredential> = self
            .devices
            .iter()
            .filter_map(|d| match &d.kind {
                TapKind::Webauthn(c) => Some(c),
                _ => None,
            })
            .collect();
        creds.sort_by_key(|c| std::cmp::Reverse(c.last_active));
        // One credential id registered to several candidates is asked for
        // once (the tap then says whose it is: `tap_match`).
        let mut seen = std::collections::HashSet::new();
        creds.retain(|c| seen.insert((c.credential_id.as_slice(), c.app_id.as_deref())));
        creds
    }

    /// ` rp_id=RP` when WebAuthn keys may answer (their assertions are
    /// bound to it), and ` app_id=ID` when a legacy U2F device may.
    fn relying_party_words(&self) -> String {
        let creds = self.webauthn_credentials();
        let Some(rp) = self.rp_id.as_deref().filter(|_| !creds.is_empty()) else {
            return String::new();
        };
        match creds.iter().find_map(|c| c.app_id.as_deref()) {
            Some(app_id) => format!(" rp_id={rp} app_id={app_id}"),
            None => format!(" rp_id={rp}"),
        }
    }

    /// ` piv=SLOTS` (or `any`) when PIV keys may answer: mfactl tap asks a
    /// PIV card for the slots of the registered keys.
    fn piv_word(&self) -> String {
        let mut any = false;
        let mut slots: Vec<&str> = self
            .devices
            .iter()
            .filter_map(|d| match &d.kind {
                TapKind::Piv { key, .. } => {
                    any = true;
                    key.attestation.slot.map(|s| s.name())
                }
                _ => None,
            })
            .collect();
        if !any {
            return String::new();
        }
        slots.sort_unstable();
        slots.dedup();
        if slots.is_empty() {
            " piv=any".to_string()
        } else {
            format!(" piv={}", slots.join(","))
        }
    }

    /// ` uv=required` when the tap must carry the key's PIN.
    fn uv_word(&self) -> &'static str {
        if self.tap_requirement().key_policy.needs_pin() {
            " uv=required"
        } else {
            ""
        }
    }
}

/// ` cred=ID,ID...`: base64url credential ids in the order given, as many
/// as fit in `room` bytes (none: no word).
pub(super) fn credential_word(creds: &[&TapCredential], room: usize) -> String {
    let mut word = String::new();
    for c in creds {
        let id = URL_SAFE_NO_PAD.encode(&c.credential_id);
        let sep = if word.is_empty() { " cred=" } else { "," };
        if word.len() + sep.len() + id.len() > room {
            break;
        }
        word.push_str(sep);
        word.push_str(&id);
    }
    word
}
