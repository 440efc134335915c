//! What `mfactl tap` shows while a key waits for its touch: what the touch
//! approves, so a person never taps for a login they did not start.

use crate::challenge::ParsedChallenge;

/// `pam-mfa: Tap to log in to prod3 as jerry (with KEY): Tap your security key now`.
pub(super) fn touch_cue(c: &ParsedChallenge, with: &str) -> String {
    format!(
        "pam-mfa: Tap to log in to {} as {} (with {with}): Tap your security key now",
        c.node, c.login
    )
}

/// The same, for a key that signs without a touch (a PIV slot whose touch
/// policy is never).
pub(super) fn no_touch_cue(c: &ParsedChallenge, with: &str) -> String {
    format!(
        "pam-mfa: approving the login to {} as {} with {with}",
        c.node, c.login
    )
}
