//! The challenge prompt of a tap, and the words in it that tell `mfactl
//! tap` which keys may answer: `rp_id=` (and `app_id=` for legacy U2F
//! devices) with `cred=`, the candidates' WebAuthn credential ids (a
//! person's together, most recent first; a FIDO2 key answers only for a
//! credential it is asked about: Teleport's MFA credentials are not
//! discoverable), and when they do not all fit PAM's 512-byte message,
//! `cred_more=N` with the other N on `cred+=` info lines before it, which
//! `mfactl tap` reads too (`prompt_packing`); `piv=` slots; `uv=required`;
//! `answers=named`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pam_mfa_protocol::{Prompt, PromptStyle, ResponseBody};

use super::prompt_packing::{
    pack_credential_ids, Overflow, PersonIds, MAX_CREDENTIAL_LINES, PAM_MESSAGE_ROOM,
};
use super::tap::{Conversation, TapKind};
use super::tap_credential::TapCredential;

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
        let (question, more_ids) = self.question();
        prompts.extend(more_ids);
        // The browser approval page's links, right before the answer prompt
        // (OpenSSH shows info text only together with the next prompt).
        prompts.extend(self.approval_prompts());
        prompts.push(Prompt {
            style: PromptStyle::EchoOn,
            text: question,
        });
        ResponseBody::Prompt { prompts }
    }

    /// `MFA challenge <text> [rp_id= [app_id=] [cred=] [cred_more=]]
    /// [piv=] [uv=required] answers=named answer: `, within PAM's message
    /// size, and the info lines it needs before it: the `cred+=` lines, or
    /// why the ids are not listed.
    fn question(&self) -> (String, Vec<Prompt>) {
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
        let ids: Vec<String> = self
            .credential_ids_by_person(|_| true)
            .into_iter()
            .flat_map(|p| p.ids)
            .collect();
        let info = |text: String| Prompt {
            style: PromptStyle::Info,
            text,
        };
        match pack_credential_ids(&ids, room) {
            Ok((word, lines)) => (
                format!("{head}{word}{tail}"),
                lines.into_iter().map(info).collect(),
            ),
            // Never a part of the list: a key left out could not answer
            // with mfactl tap, which then asks about the keys `mfactl
            // enroll` recorded (as for an older prompt without `cred=`).
            Err(over) => {
                let why = match over {
                    Overflow::NoRoom => "no room beside the challenge".to_string(),
                    Overflow::TooMany { needed } => format!(
                        "they need {needed} lines, at most {MAX_CREDENTIAL_LINES} are shown"
                    ),
                };
                let notice = format!(
                    "pam-mfa: the {} security keys that may answer are more than this prompt can list ({why}): mfactl tap asks about the keys mfactl enroll recorded",
                    ids.len()
                );
                (format!("{head}{tail}"), vec![info(notice)])
            }
        }
    }

    /// Each candidate's credential ids (base64url) that `keep` keeps, a
    /// person's most recent first, people in the order of their most
    /// recent key. An id registered to several candidates is listed once,
    /// under the first (the tap then says whose it is: `tap_match`).
    pub(super) fn credential_ids_by_person(
        &self,
        keep: impl Fn(&TapCredential) -> bool,
    ) -> Vec<PersonIds> {
        let mut creds: Vec<(&str, &TapCredential)> = self
            .devices
            .iter()
            .filter_map(|d| match &d.kind {
                TapKind::Webauthn(c) if keep(c) => Some((d.user.as_str(), c)),
                _ => None,
            })
            .collect();
        creds.sort_by_key(|(_, c)| std::cmp::Reverse(c.last_active));
        let mut seen = std::collections::HashSet::new();
        creds.retain(|(_, c)| seen.insert((c.credential_id.as_slice(), c.app_id.as_deref())));
        let mut people: Vec<PersonIds> = Vec::new();
        for (user, c) in creds {
            let id = URL_SAFE_NO_PAD.encode(&c.credential_id);
            match people.iter_mut().find(|p| p.user == user) {
                Some(p) => p.ids.push(id),
                None => people.push(PersonIds {
                    user: user.to_string(),
                    ids: vec![id],
                }),
            }
        }
        people
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
