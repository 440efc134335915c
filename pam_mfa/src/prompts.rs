//! Fitting the agent's prompts into PAM's limits, and collecting answers.

use pam_mfa_protocol::{Prompt, PromptStyle};

use crate::ffi::consts::{PAM_MAX_MSG_SIZE, PAM_MAX_NUM_MSG, PAM_MAX_RESP_SIZE};
use crate::secret::{wipe, wipe_all};

/// Why a round of prompts could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// The conversation's reply does not fit the prompts.
    BadReply(&'static str),
    /// An answer is over `PAM_MAX_RESP_SIZE` bytes: refused, never cut.
    TooLong,
}

/// Checks the number of prompts PAM can carry in one call.
pub fn check_count(prompts: &[Prompt]) -> Result<(), String> {
    match prompts.len() {
        0 => Err("a prompt step with no prompts".into()),
        n if n > PAM_MAX_NUM_MSG => Err(format!(
            "a prompt step with {n} prompts (PAM carries at most {PAM_MAX_NUM_MSG})"
        )),
        _ => Ok(()),
    }
}

/// The prompt as PAM can show it: NUL bytes removed, cut on a character
/// boundary to at most `PAM_MAX_MSG_SIZE - 1` bytes.
pub fn fit(prompt: &Prompt) -> Prompt {
    Prompt {
        style: prompt.style,
        text: fit_text(&prompt.text),
    }
}

/// See [`fit`].
pub fn fit_text(text: &str) -> String {
    let mut out: String = text.chars().filter(|&c| c != '\0').collect();
    let max = PAM_MAX_MSG_SIZE - 1;
    if out.len() > max {
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Whether the style asks for an answer.
pub fn wants_answer(style: PromptStyle) -> bool {
    matches!(style, PromptStyle::EchoOn | PromptStyle::EchoOff)
}

/// The answers to send: one per echo-on/echo-off prompt, in prompt order.
/// Everything not returned is wiped, on success and on error.
pub fn collect(
    prompts: &[Prompt],
    responses: Vec<Option<String>>,
) -> Result<Vec<String>, AnswerError> {
    if responses.len() != prompts.len() {
        crate::secret::wipe_responses(responses);
        return Err(AnswerError::BadReply("not one response per prompt"));
    }
    let mut answers = Vec::new();
    let mut error = None;
    for (prompt, response) in prompts.iter().zip(responses) {
        match (wants_answer(prompt.style), response) {
            (_, Some(text)) if error.is_some() => wipe(text),
            (true, Some(text)) if text.len() > PAM_MAX_RESP_SIZE => {
                wipe(text);
                error = Some(AnswerError::TooLong);
            }
            (true, Some(text)) => answers.push(text),
            (true, None) => error = Some(AnswerError::BadReply("no response to a prompt")),
            (false, Some(text)) => wipe(text),
            (false, None) => {}
        }
    }
    match error {
        None => Ok(answers),
        Some(e) => {
            wipe_all(answers);
            Err(e)
        }
    }
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
    fn fit_cuts_and_strips() {
        assert_eq!(fit_text("a\0b"), "ab");
        assert_eq!(fit_text(&"x".repeat(600)).len(), 511);
        let cut = fit_text(&"€".repeat(200)); // 3 bytes each
        assert_eq!(cut.len(), 510);
        assert!(cut.chars().all(|c| c == '€'));
        assert_eq!(fit_text("short"), "short");
    }

    #[test]
    fn count_limits() {
        assert!(check_count(&[]).is_err());
        assert!(check_count(&vec![p(PromptStyle::Info, "i"); 32]).is_ok());
        assert!(check_count(&vec![p(PromptStyle::Info, "i"); 33]).is_err());
    }

    #[test]
    fn answers_in_order_skipping_messages() {
        let prompts = [
            p(PromptStyle::Info, "i"),
            p(PromptStyle::EchoOn, "a"),
            p(PromptStyle::Error, "e"),
            p(PromptStyle::EchoOff, "b"),
        ];
        let got = collect(
            &prompts,
            vec![
                None,
                Some("one".into()),
                Some("junk".into()),
                Some("two".into()),
            ],
        );
        assert_eq!(got, Ok(vec!["one".to_owned(), "two".to_owned()]));
    }

    #[test]
    fn bad_replies() {
        let prompts = [p(PromptStyle::EchoOff, "a")];
        assert_eq!(
            collect(&prompts, vec![]),
            Err(AnswerError::BadReply("not one response per prompt"))
        );
        assert_eq!(
            collect(&prompts, vec![None]),
            Err(AnswerError::BadReply("no response to a prompt"))
        );
        assert_eq!(
            collect(&prompts, vec![Some("x".repeat(513))]),
            Err(AnswerError::TooLong)
        );
        assert_eq!(
            collect(&prompts, vec![Some("x".repeat(512))]).unwrap()[0].len(),
            512
        );
    }
}
