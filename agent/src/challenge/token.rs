//! Challenges: single-use, short-lived, bound to one login attempt.
//!
//! The text form is `pmfa1:<node>:<login>:<nonce>` (nonce: 16 random bytes,
//! base64url without padding), at most a little over 100 bytes, so it fits
//! PAM's 512-byte messages with room for the words around it. What a key
//! signs is exactly that text: node and login are in what the person
//! approves. The binding to service, rhost and tty lives in the agent, which
//! only accepts an answer on the conversation that issued the challenge.

use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const PREFIX: &str = "pmfa1";
const NONCE_LEN: usize = 16;

/// An issued challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub node: String,
    pub login: String,
    nonce: String,
    /// By the wall clock (what the agent's injected clock says).
    pub expires: SystemTime,
    /// By the monotonic clock: a wall clock stepped back cannot stretch a
    /// challenge's life.
    expires_mono: Instant,
}

impl Challenge {
    /// A fresh challenge with `nonce_bytes` from the caller (the agent's
    /// random source; tests pass fixed bytes).
    pub fn new(
        node: &str,
        login: &str,
        nonce_bytes: [u8; NONCE_LEN],
        now: SystemTime,
        ttl: Duration,
    ) -> Challenge {
        Challenge {
            node: node.to_string(),
            login: login.to_string(),
            nonce: URL_SAFE_NO_PAD.encode(nonce_bytes),
            expires: now + ttl,
            expires_mono: Instant::now() + ttl,
        }
    }

    /// The text the person's key signs, and the prompt carries.
    pub fn text(&self) -> String {
        format!("{PREFIX}:{}:{}:{}", self.node, self.login, self.nonce)
    }

    /// Expired once either clock says so: the wall clock `now` (stepped
    /// forward, it ends the challenge early: the person taps again) or the
    /// monotonic one (stepped back, the wall clock would keep it alive).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.is_expired_at(now, Instant::now())
    }

    /// [`Challenge::is_expired`] with the monotonic time given (tests).
    pub fn is_expired_at(&self, now: SystemTime, mono: Instant) -> bool {
        now >= self.expires || mono >= self.expires_mono
    }
}

/// A challenge found in a prompt text (what `mfactl tap` reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedChallenge {
    pub node: String,
    pub login: String,
    pub text: String,
}

/// Finds the first challenge in `prompt` (askpass gets info text and the
/// prompt joined, so the challenge may sit anywhere in it).
pub fn find_challenge(prompt: &str) -> Option<ParsedChallenge> {
    prompt
        .split(|c: char| c.is_whitespace() || c == '`' || c == '"' || c == '\'')
        .find_map(|word| {
            let word = word.trim_end_matches(['.', ',', ';', ')']);
            let mut parts = word.split(':');
            if parts.next()? != PREFIX {
                return None;
            }
            let (node, login, nonce) = (parts.next()?, parts.next()?, parts.next()?);
            let nonce_ok = nonce.len() == 22
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let name_ok =
                |s: &str| !s.is_empty() && s.len() <= 255 && !s.contains(char::is_control);
            (parts.next().is_none() && nonce_ok && name_ok(node) && name_ok(login)).then(|| {
                ParsedChallenge {
                    node: node.to_string(),
                    login: login.to_string(),
                    text: word.to_string(),
                }
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_through_a_prompt() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let c = Challenge::new("prod3", "jerry", [7; 16], now, Duration::from_secs(60));
        let text = c.text();
        assert_eq!(text, "pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw");
        assert!(text.len() < 100);
        let prompt = format!(
            "pam-mfa: prod3 requires a tap.\nRun `mfactl tap {text}` and paste the answer: "
        );
        let p = find_challenge(&prompt).unwrap();
        assert_eq!(p.text, text);
        assert_eq!((p.node.as_str(), p.login.as_str()), ("prod3", "jerry"));
        assert!(!c.is_expired(now + Duration::from_secs(59)));
        assert!(c.is_expired(now + Duration::from_secs(60)));
    }

    #[test]
    fn rejects_lookalikes() {
        for bad in [
            "pmfa1:prod3:jerry:short",
            "pmfa2:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw",
            "pmfa1::jerry:BwcHBwcHBwcHBwcHBwcHBw",
            "pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw:extra",
            "pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcH+w",
            "no challenge here",
        ] {
            assert_eq!(find_challenge(bad), None, "{bad}");
        }
    }
}
