//! The challenge an answer says it answers.
//!
//! `mfactl tap` prints `<answer> <challenge text>`: the signature is over
//! that text, so naming it lets the agent tell a person why an answer that
//! verifies over it is refused here (already used, another node or login)
//! instead of "the signature does not verify". The claim is only a hint: an
//! answer is accepted only when it verifies over the conversation's own
//! challenge.
//!
//! An agent that reads claims says so in its prompt ([`CLAIMS_WELCOME`]);
//! `mfactl tap` adds the claim only then, so its answers still parse on an
//! agent from before (which refuses any extra word).

use super::token::{find_challenge, ParsedChallenge};

/// Largest answer accepted (PAM's PAM_MAX_RESP_SIZE).
pub const MAX_ANSWER: usize = 512;

/// The prompt word that says answers may name their challenge.
pub const CLAIMS_WELCOME: &str = "answers=named";

/// Splits `<answer> [<challenge text>]`. A second word that is not exactly
/// a challenge is no claim (and the answer part is still the first word).
pub fn split_claim(line: &str) -> (&str, Option<ParsedChallenge>) {
    let line = line.trim();
    match line.split_once([' ', '\t']) {
        None => (line, None),
        Some((answer, rest)) => {
            let rest = rest.trim();
            let claim = find_challenge(rest).filter(|c| c.text == rest);
            (answer, claim)
        }
    }
}

/// The answer line `mfactl tap` prints for `answer` to `challenge`: the
/// answer alone when both would not fit PAM's response size (very long
/// node or login names).
pub fn with_claim(answer: &str, challenge_text: &str) -> String {
    if answer.len() + 1 + challenge_text.len() > MAX_ANSWER {
        return answer.to_string();
    }
    format!("{answer} {challenge_text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw";

    #[test]
    fn splits_the_claim_off() {
        let line = with_claim("sk1.a.b", C);
        let (a, c) = split_claim(&line);
        assert_eq!(a, "sk1.a.b");
        let c = c.unwrap();
        assert_eq!(
            (c.node.as_str(), c.login.as_str(), c.text.as_str()),
            ("prod3", "jerry", C)
        );
        assert_eq!(split_claim(" sk1.a.b\n"), ("sk1.a.b", None));
        assert_eq!(split_claim("sk1.a.b not-a-challenge"), ("sk1.a.b", None));
        assert_eq!(split_claim(&format!("sk1.a.b {C} more")), ("sk1.a.b", None));
    }

    #[test]
    fn a_line_too_long_for_pam_goes_without_the_claim() {
        let long = format!("pmfa1:{}:jerry:BwcHBwcHBwcHBwcHBwcHBw", "n".repeat(255));
        let answer = format!("sk1.{}", "a".repeat(300));
        assert_eq!(with_claim(&answer, &long), answer);
        assert!(with_claim("sk1.a.b", C).len() <= MAX_ANSWER);
    }
}
