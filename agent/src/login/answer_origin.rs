//! Why an answer that is not for this conversation's challenge is refused:
//! a replay says "already used", an answer for another node or login says
//! so, instead of "the signature does not verify".
//!
//! The reason is given only when the answer's signature verifies over the
//! challenge it is for (named by the answer line, see
//! [`crate::challenge::split_claim`], or, for a line naming none, one of
//! this login's used challenges): a made-up claim earns no special message.
//! Such an answer is always refused; an answer is accepted only when it
//! verifies over the conversation's own challenge.

use super::tap::Conversation;
use super::tap_match::{names_device, signed_by};
use crate::challenge::{split_claim, Answer, ParsedChallenge, PREFIX};
use crate::state::AgentState;

/// How many used challenges an answer naming none is checked against.
const REPLAY_CANDIDATES: usize = 8;

/// Marks the conversation's challenge used (it has had its answer) and
/// says why `line` is refused when it answers another challenge.
pub(super) fn refuse_other_challenge(
    state: &AgentState,
    conv: &Conversation,
    line: &str,
) -> Option<String> {
    let now = state.now();
    let current = conv.challenge.text();
    state.used_challenges.mark(&current, now);
    let (_, claim) = split_claim(line);
    let answer = Answer::parse(line).ok()?;
    match claim {
        Some(c) if c.text == current => None,
        Some(c) => {
            if !signed_by_a_device(conv, &answer, &c.text) {
                return None;
            }
            Some(other_challenge(state, conv, &c))
        }
        None => {
            let prefix = format!("{PREFIX}:{}:{}:", conv.challenge.node, conv.challenge.login);
            state
                .used_challenges
                .recent_for(&prefix, now, REPLAY_CANDIDATES + 1)
                .iter()
                .filter(|t| **t != current)
                .take(REPLAY_CANDIDATES)
                .any(|t| signed_by_a_device(conv, &answer, t))
                .then(already_used)
        }
    }
}

fn already_used() -> String {
    "this answer was already used: run mfactl tap again with the challenge shown now".into()
}

fn other_challenge(state: &AgentState, conv: &Conversation, c: &ParsedChallenge) -> String {
    let (node, login) = (&conv.challenge.node, &conv.challenge.login);
    if c.node != *node || c.login != *login {
        return format!(
            "this answer approves a login to {} as {}, not to {node} as {login}",
            c.node, c.login
        );
    }
    if state.used_challenges.was_used(&c.text, state.now()) {
        return already_used();
    }
    "this answer is for an earlier challenge: run mfactl tap again with the challenge shown now"
        .into()
}

/// Whether `answer` is a valid signature over `text` by one of the
/// conversation's registered keys that it names (flags and counters are not
/// looked at: this only chooses the refusal's wording).
fn signed_by_a_device(conv: &Conversation, answer: &Answer, text: &str) -> bool {
    conv.devices
        .iter()
        .any(|d| names_device(answer, d) && signed_by(conv, answer, d, text))
}
