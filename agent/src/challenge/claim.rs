//! The challenge an answer says it answers.
//!
//! `mfactl tap` prints `<answer> <challenge text>`: the signature is over
//! that text, so naming it lets the agent tell a person why an answer that
//! verifies over it is refused here (already used, another node or login)
//! instead of "the signature does not verify". The claim is only a hint: an
//! answer is accepted only when it verifies over the conversation's own
//! challenge.

use super::token::{find_challenge, ParsedChallenge};

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

/// The answer line `mfactl tap` prints for `answer` to `challenge`.
pub fn with_claim(answer: &str, challenge_text: &str) -> String {
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
}
