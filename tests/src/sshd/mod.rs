//! A real OpenSSH server on loopback, one per test, with its own PAM service.
//!
//! sshd runs through a symlink `sshd-mfat<random>` so its PAM service name is
//! unique, inside `unshare --mount --propagation private` where
//! - a tmpfs on `/run` gives it `/run/sshd` and a root-owned `/run/t` for the
//!   `AuthorizedKeysCommand` (a copy of mfactl),
//! - a private directory is bind-mounted over `/etc/pam.d`, holding only this
//!   test's service file (and any [`SshdOptions::pam_service_file`]s): the
//!   host's `/etc/pam.d` is never touched, and
//! - with [`SshdOptions::sudoers`], a private root-owned 0440 file is
//!   bind-mounted over `/etc/sudoers` for sudo run inside its sessions.
//!
//! PAM files are re-read on every connection, so [`Sshd::set_pam_stack`] changes
//! the stack for the next login.

pub mod check;
mod config;
mod server;

pub use config::{KeysCommand, SshdOptions};
pub use server::{free_port, Sshd};

/// The line sshd (LogLevel DEBUG3) writes after verifying an sk signature, e.g.
/// `debug1: userauth_pubkey: sk_counter = 1, sk_flags = 0x01 [preauth]`.
pub const SK_FLAGS_MARKER: &str = "sk_flags = 0x";

/// The sk flags sshd logged for accepted or offered sk signatures, in order.
pub fn sk_flags_in_log(log: &str) -> Vec<u8> {
    log.lines()
        .filter_map(|l| {
            let i = l.find(SK_FLAGS_MARKER)? + SK_FLAGS_MARKER.len();
            let hex: String = l[i..].chars().take_while(char::is_ascii_hexdigit).collect();
            u8::from_str_radix(&hex, 16).ok()
        })
        .collect()
}

/// The user-presence flag of a FIDO signature.
pub const SK_USER_PRESENT: u8 = 0x01;
/// The user-verified flag of a FIDO signature.
pub const SK_USER_VERIFIED: u8 = 0x04;
