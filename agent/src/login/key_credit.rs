//! What sshd enforced for an accepted security key: the touch and PIN a
//! login is credited with.
//!
//! Credit comes only from what sshd itself checked: sshd's global
//! `PubkeyAuthOptions` (as agent.yaml states them; `mfactl check` and
//! `mfactl doctor` compare with `sshd -T`), the line pam-mfa served for the
//! login, or the one unambiguous line of the user's own authorized_keys
//! that lists the key, when nothing on the way to the files changed since
//! sshd's connection began. When sshd may have used another line (the key
//! on several lines, a `from=` line, an option the agent cannot read as
//! sshd does, a file changed since), only the global options count.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::auth_info::AcceptedKey;
use super::authorized_keys_changes::{changed_since, KeyFilesState};
use super::authorized_keys_file::{user_file_verdict, UserFileVerdict};
use super::evidence::KeyClass;
use super::served_keys_table::Served;
use super::sshd_connection::{began_by_wall_clock, SshdConnection};
use crate::state::AgentState;

/// sshd's global `PubkeyAuthOptions` as agent.yaml states them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalOptions {
    pub touch_required: bool,
    pub verify_required: bool,
}

/// The key class of `key` for `login`, and a note saying where the credit
/// came from. `connection`: sshd's connection (see
/// [`super::sshd_connection`]): when it began (unknown, no file line's
/// options count) and which one (for the line pam-mfa served to it).
pub fn sk_key_class(
    state: &AgentState,
    login: &str,
    key: &AcceptedKey,
    connection: SshdConnection,
) -> (KeyClass, String) {
    let files = &state.config.sshd.authorized_keys_files;
    let served = state
        .served_keys
        .served(login, &key.key_type, &key.blob, connection.id);
    // File change times are wall-clock times: compared with the real clock.
    let began = connection
        .age
        .map(|age| began_by_wall_clock(age, SystemTime::now()));
    let verdict = match home_of(login) {
        Some(home) => file_verdict(files, login, &home, key, served.as_ref(), began),
        None => UserFileVerdict::Unverifiable(format!("no home directory for {login}")),
    };
    let global = GlobalOptions {
        touch_required: state.config.sshd_enforces_touch(),
        verify_required: state.config.sshd_enforces_verify(),
    };
    credit(&verdict, served.map(|s| s.verify_required), global)
}

/// What the user's files say about `key` now, as far as it is what sshd
/// read: `began` is when sshd's connection began (it read the files after
/// that), `served` pam-mfa's line for the key and the files' state then.
/// Only ever turns a verdict into `Ambiguous`: credit is never added here.
pub(super) fn file_verdict(
    files: &[String],
    login: &str,
    home: &Path,
    key: &AcceptedKey,
    served: Option<&Served>,
    began: Option<SystemTime>,
) -> UserFileVerdict {
    match user_file_verdict(files, login, home, &key.key_type, &key.blob) {
        // The key is in none of the files now; it was then only if they
        // have not changed since sshd could have read them.
        UserFileVerdict::NotListed
            if served.is_some_and(|s| {
                let since = began.map_or(s.at, |b| b.min(s.at));
                s.files
                    .changed_to(&KeyFilesState::of(files, login, home), since)
            }) =>
        {
            UserFileVerdict::Ambiguous(
                "the user's authorized_keys changed after sshd's connection began".into(),
            )
        }
        // sshd applied the line it read, once; the line read now is that
        // one only if nothing on the way to it changed since the
        // connection began.
        listed @ UserFileVerdict::Listed { .. } => match began {
            None => UserFileVerdict::Ambiguous(
                "when sshd's connection began is not known: the line read now may not be the one sshd read".into(),
            ),
            Some(began) => match changed_since(files, login, home, began) {
                Some(path) => UserFileVerdict::Ambiguous(format!(
                    "{} changed after sshd's connection began: the line read now may not be the one sshd read",
                    path.display()
                )),
                None => listed,
            },
        },
        verdict => verdict,
    }
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
