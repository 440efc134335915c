//! What sshd enforced for an accepted security key: the touch and PIN a
//! login is credited with.
//!
//! Credit comes only from what sshd itself checked: sshd's global
//! `PubkeyAuthOptions` (as agent.yaml states them; `mfactl check` and
//! `mfactl doctor` compare with `sshd -T`), the line pam-mfa served for the
//! login, or the one unambiguous line of the user's own authorized_keys
//! that lists the key. When sshd may have used another line (the key on
//! several lines, a `from=` line, an option the agent cannot read as sshd
//! does), only the global options count.

use std::path::PathBuf;

use super::auth_info::AcceptedKey;
use super::authorized_keys_changes::KeyFilesState;
use super::authorized_keys_file::{user_file_verdict, UserFileVerdict};
use super::evidence::KeyClass;
use crate::state::AgentState;

/// sshd's global `PubkeyAuthOptions` as agent.yaml states them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalOptions {
    pub touch_required: bool,
    pub verify_required: bool,
}

/// The key class of `key` for `login`, and a note saying where the credit
/// came from.
pub fn sk_key_class(state: &AgentState, login: &str, key: &AcceptedKey) -> (KeyClass, String) {
    let files = &state.config.sshd.authorized_keys_files;
    let served = state.served_keys.served(login, &key.key_type, &key.blob);
    let verdict = match home_of(login) {
        Some(home) => match user_file_verdict(files, login, &home, &key.key_type, &key.blob) {
            // The key is in none of the files now; it was then only if
            // they have not changed since it was served.
            UserFileVerdict::NotListed
                if served.as_ref().is_some_and(|s| {
                    s.files
                        .changed_to(&KeyFilesState::of(files, login, &home), s.at)
                }) =>
            {
                UserFileVerdict::Ambiguous(
                    "the user's authorized_keys changed after pam-mfa served the key".into(),
                )
            }
            verdict => verdict,
        },
        None => UserFileVerdict::Unverifiable(format!("no home directory for {login}")),
    };
    let global = GlobalOptions {
        touch_required: state.config.sshd_enforces_touch(),
        verify_required: state.config.sshd_enforces_verify(),
    };
    credit(&verdict, served.map(|s| s.verify_required), global)
}

/// The state of `login`'s authorized_keys files now (taken when pam-mfa
/// serves the login's keys).
pub fn key_files_state(state: &AgentState, login: &str) -> KeyFilesState {
    match home_of(login) {
        Some(home) => KeyFilesState::of(&state.config.sshd.authorized_keys_files, login, &home),
        None => KeyFilesState::unreadable(),
    }
}

fn home_of(login: &str) -> Option<PathBuf> {
    let home = nix::unistd::User::from_name(login).ok().flatten()?.dir;
    Some(std::fs::canonicalize(&home).unwrap_or(home))
}

/// The credit from the user's files (`verdict`), the line pam-mfa served
/// (`served`: `Some(verify_required)`) and sshd's global options.
pub fn credit(
    verdict: &UserFileVerdict,
    served: Option<bool>,
    global: GlobalOptions,
) -> (KeyClass, String) {
    let (touch, pin, note) = match verdict {
        // Not in the user's files: sshd used the line pam-mfa served, if it
        // served one (never with no-touch-required); a key sshd found
        // anywhere else says nothing about touch.
        UserFileVerdict::NotListed => match served {
            Some(verify) => (true, verify, "(served by pam-mfa)".to_string()),
            None => (
                false,
                false,
                "(not served by pam-mfa: sshd's checks unknown)".to_string(),
            ),
        },
        // On exactly one line sshd always passes: OpenSSH reads the files
        // before the AuthorizedKeysCommand, so its options applied. If
        // pam-mfa also served the key, take what both lines guarantee,
        // whichever order an sshd reads them in.
        UserFileVerdict::Listed {
            no_touch_required,
            verify_required,
        } => (
            !no_touch_required,
            *verify_required && served.is_none_or(|v| v),
            "(listed in the user's authorized_keys)".to_string(),
        ),
        UserFileVerdict::Ambiguous(why) => (
            false,
            false,
            format!("(no credit from authorized_keys options: {why})"),
        ),
        UserFileVerdict::Unverifiable(why) => (
            false,
            false,
            format!("(cannot check the user's authorized_keys: {why})"),
        ),
    };
    let touch = touch || global.touch_required;
    let pin = pin || global.verify_required;
    let class = match (touch, pin) {
        (true, true) => KeyClass::TouchAndPin,
        (true, false) => KeyClass::Touch,
        (false, true) => KeyClass::Pin,
        (false, false) => KeyClass::Hardware,
    };
    (class, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: GlobalOptions = GlobalOptions {
        touch_required: false,
        verify_required: false,
    };

    #[test]
    fn served_keys_keep_their_credit() {
        let nl = UserFileVerdict::NotListed;
        assert_eq!(credit(&nl, Some(true), NONE).0, KeyClass::TouchAndPin);
        assert_eq!(credit(&nl, Some(false), NONE).0, KeyClass::Touch);
        assert_eq!(credit(&nl, None, NONE).0, KeyClass::Hardware);
    }

    #[test]
    fn ambiguous_files_credit_only_global_options() {
        let amb = UserFileVerdict::Ambiguous("the key is on 2 lines".into());
        let (class, note) = credit(&amb, Some(true), NONE);
        assert_eq!(class, KeyClass::Hardware, "a served line does not help");
        assert!(note.contains("2 lines"), "{note}");
        let both = GlobalOptions {
            touch_required: true,
            verify_required: true,
        };
        assert_eq!(credit(&amb, None, both).0, KeyClass::TouchAndPin);
        let touch = GlobalOptions {
            touch_required: true,
            verify_required: false,
        };
        assert_eq!(credit(&amb, Some(true), touch).0, KeyClass::Touch);
        let unv = UserFileVerdict::Unverifiable("is a symlink".into());
        assert_eq!(credit(&unv, Some(true), NONE).0, KeyClass::Hardware);
    }

    #[test]
    fn one_file_line_gives_what_both_lines_guarantee() {
        let pin_line = UserFileVerdict::Listed {
            no_touch_required: false,
            verify_required: true,
        };
        assert_eq!(credit(&pin_line, None, NONE).0, KeyClass::TouchAndPin);
        assert_eq!(credit(&pin_line, Some(false), NONE).0, KeyClass::Touch);
        let untouched = UserFileVerdict::Listed {
            no_touch_required: true,
            verify_required: false,
        };
        assert_eq!(credit(&untouched, Some(true), NONE).0, KeyClass::Hardware);
    }
}
