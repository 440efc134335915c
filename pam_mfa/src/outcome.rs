//! How an exchange with the agent ends, and the PAM code each ending gives.
//! The full table is in the crate documentation.

use pam_mfa_protocol::PamHook;

use crate::args::FailMode;
use crate::ffi::consts::{
    PAM_AUTHINFO_UNAVAIL, PAM_AUTH_ERR, PAM_CONV_ERR, PAM_IGNORE, PAM_PERM_DENIED, PAM_SESSION_ERR,
    PAM_SUCCESS,
};

/// The end of one exchange with the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The agent said `allow`.
    Allow,
    /// The agent said `deny`.
    Deny,
    /// No trusted agent answered: no socket, wrong owner, symlink, refused,
    /// connect deadline, peer not root, or a transport failure (timeout,
    /// closed, reset) before the agent's first response. Fail mode applies.
    Unreachable(String),
    /// The agent said `unavailable` (no usable policy). Fail mode applies.
    Unavailable(String),
    /// The PAM conversation failed; `cancel` was sent.
    ConversationFailed(String),
    /// Anything else that went wrong: an `error` answer, a protocol error
    /// (garbage, oversized frame, wrong version, a message type that has no
    /// place here), a transport failure or deadline after the first
    /// response, an over-long answer, a local failure. Never success, never
    /// ignore.
    Failure(String),
}

/// The PAM code for `outcome` in `hook`.
pub fn pam_code(outcome: &Outcome, hook: PamHook, fail_mode: FailMode) -> i32 {
    match outcome {
        Outcome::Allow => PAM_SUCCESS,
        Outcome::Deny => match hook {
            PamHook::Auth => PAM_AUTH_ERR,
            PamHook::Account => PAM_PERM_DENIED,
            PamHook::OpenSession | PamHook::CloseSession => PAM_SESSION_ERR,
        },
        Outcome::Unreachable(_) | Outcome::Unavailable(_) => match fail_mode {
            FailMode::Closed => PAM_AUTHINFO_UNAVAIL,
            FailMode::Open => PAM_IGNORE,
        },
        Outcome::ConversationFailed(_) => PAM_CONV_ERR,
        Outcome::Failure(_) => PAM_AUTH_ERR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOOKS: [PamHook; 4] = [
        PamHook::Auth,
        PamHook::Account,
        PamHook::OpenSession,
        PamHook::CloseSession,
    ];

    #[test]
    fn table() {
        use FailMode::{Closed, Open};
        for hook in HOOKS {
            for mode in [Closed, Open] {
                assert_eq!(pam_code(&Outcome::Allow, hook, mode), PAM_SUCCESS);
                assert_eq!(
                    pam_code(&Outcome::Failure("x".into()), hook, mode),
                    PAM_AUTH_ERR
                );
                assert_eq!(
                    pam_code(&Outcome::ConversationFailed("x".into()), hook, mode),
                    PAM_CONV_ERR
                );
            }
            for o in [
                Outcome::Unreachable("x".into()),
                Outcome::Unavailable("x".into()),
            ] {
                assert_eq!(pam_code(&o, hook, Closed), PAM_AUTHINFO_UNAVAIL);
                assert_eq!(pam_code(&o, hook, Open), PAM_IGNORE);
            }
        }
        assert_eq!(pam_code(&Outcome::Deny, PamHook::Auth, Open), PAM_AUTH_ERR);
        assert_eq!(
            pam_code(&Outcome::Deny, PamHook::Account, Open),
            PAM_PERM_DENIED
        );
        assert_eq!(
            pam_code(&Outcome::Deny, PamHook::OpenSession, Open),
            PAM_SESSION_ERR
        );
        assert_eq!(
            pam_code(&Outcome::Deny, PamHook::CloseSession, Open),
            PAM_SESSION_ERR
        );
    }
}
