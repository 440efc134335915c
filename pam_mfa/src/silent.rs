//! What a person still sees when the application passes `PAM_SILENT`.
//!
//! Silence hides what is only informative (an `allow` message), never what
//! the person needs: the cue to tap (a `wait` text) and the reason of a
//! refusal (a `deny` text) are still shown. sudo passes `PAM_SILENT` on
//! every authentication (Debian 12's 1.9.13 always does); hiding those left
//! a refused person with only "Sorry, try again.".
//!
//! Within a `prompt` step, the info and error texts are folded into the
//! question that follows them, so everything arrives as the prompt the
//! application must show anyway; texts after the last question stay
//! messages of their own.

use pam_mfa_protocol::{Prompt, PromptStyle};

use crate::prompts::{fit_text, wants_answer};

/// The step texts shown under `PAM_SILENT`: `allow`'s message is not.
pub fn shows(kind: TextKind) -> bool {
    match kind {
        TextKind::AllowMessage => false,
        TextKind::TapCue | TextKind::RefusalReason => true,
    }
}

/// What a text of a step is to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    AllowMessage,
    TapCue,
    RefusalReason,
}

/// Folds messages into the question after them (see the module docs). The
/// question keeps its own text whole: when the whole does not fit PAM's
/// 511 bytes, the folded messages are cut, never the question.
pub fn fold_into_questions(list: &[Prompt]) -> Vec<Prompt> {
    let mut out = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for p in list {
        if !wants_answer(p.style) {
            if !p.text.is_empty() {
                pending.push(&p.text);
            }
            continue;
        }
        let question = fit_text(&p.text);
        let text = if pending.is_empty() {
            question
        } else {
            let room =
                (crate::ffi::consts::PAM_MAX_MSG_SIZE - 1).saturating_sub(question.len() + 1);
            let lead = cut(&pending.join("\n"), room);
            pending.clear();
            if lead.is_empty() {
                question
            } else {
                format!("{lead}\n{question}")
            }
        };
        out.push(Prompt {
            style: p.style,
            text,
        });
    }
    for text in pending {
        out.push(Prompt {
            style: PromptStyle::Error,
            text: text.to_owned(),
        });
    }
    out
}

/// `text` cut on a character boundary to at most `max` bytes.
fn cut(text: &str, max: usize) -> String {
    let text = fit_text(text);
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(style: PromptStyle, text: &str) -> Prompt {
        Prompt {
            style,
            text: text.into(),
        }
    }

    #[test]
    fn messages_ride_in_the_question_after_them() {
        let got = fold_into_questions(&[
            p(PromptStyle::Info, "MFA challenge pmfa1:n:l:x"),
            p(PromptStyle::Error, "the last answer was refused"),
            p(PromptStyle::EchoOn, "Answer: "),
            p(PromptStyle::EchoOff, "PIN: "),
            p(PromptStyle::Info, "trailing"),
        ]);
        assert_eq!(
            got,
            [
                p(
                    PromptStyle::EchoOn,
                    "MFA challenge pmfa1:n:l:x\nthe last answer was refused\nAnswer: "
                ),
                p(PromptStyle::EchoOff, "PIN: "),
                p(PromptStyle::Error, "trailing"),
            ]
        );
    }

    #[test]
    fn a_long_message_is_cut_never_the_question() {
        let got = fold_into_questions(&[
            p(PromptStyle::Info, &"x".repeat(600)),
            p(PromptStyle::EchoOff, "Answer: "),
        ]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text.len(), 511);
        assert!(got[0].text.ends_with("\nAnswer: "));
    }

    #[test]
    fn silence_hides_only_what_is_informative() {
        assert!(!shows(TextKind::AllowMessage));
        assert!(shows(TextKind::TapCue));
        assert!(shows(TextKind::RefusalReason));
    }
}
