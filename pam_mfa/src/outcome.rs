//! How an exchange with the agent ends, and the PAM code each ending gives.
//! The full table is in the crate documentation.

use pam_mfa_protocol::PamHook;

use crate::args::FailMode;
use crate::ffi::consts::{
    PAM_AUTHINFO_UNAVAIL, PAM_AUTH_ERR, PAM_CONV_ERR, PAM_IGNORE, PAM_MAXTRIES, PAM_PERM_DENIED,
    PAM_SESSION_ERR, PAM_SUCCESS,
};

/// The end of one exchange with the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The agent said `allow`.
    Allow,
    /// The agent said `deny`; `tries_spent` when it ended a tap whose last
    /// try was spent.
    Deny { tries_spent: bool },
    /// There is no agent at all: no socket file (`ENOENT`), or nobody
    /// listens on it (`ECONNREFUSED`); see `ConnectError::is_unreachable`.
    /// Fail mode applies. A socket that is not the agent's (symlink, wrong
    /// owner, peer not root), a full backlog, and a transport failure or
    /// deadline are [`Outcome::Failure`], never fail-open.
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
        Outcome::Deny { tries_spent } => match hook {
            // OpenSSH's sshpam_query (auth-pam.c) turns keyboard-interactive
            // off on PAM_MAXTRIES (sshpam_set_maxtries_reached), and the
            // monitor's mm_answer_pam_init_ctx then ends the connection at
            // the client's next try instead of starting the tap again.
            PamHook::Auth if *tries_spent => PAM_MAXTRIES,
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
        for mode in [Closed, Open] {
            for (tries_spent, auth) in [(false, PAM_AUTH_ERR), (true, PAM_MAXTRIES)] {
                let deny = Outcome::Deny { tries_spent };
                assert_eq!(pam_code(&deny, PamHook::Auth, mode), auth);
                // Only auth runs taps: the other hooks keep their codes.
                assert_eq!(pam_code(&deny, PamHook::Account, mode), PAM_PERM_DENIED);
                for hook in [PamHook::OpenSession, PamHook::CloseSession] {
                    assert_eq!(pam_code(&deny, hook, mode), PAM_SESSION_ERR);
                }
            }
        }
    }
}
