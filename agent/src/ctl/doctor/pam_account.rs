//! Whether pam_mfa.so decides every request that reaches a service's
//! account stack: sudo under NOPASSWD (no auth stack ran) and an SSH login
//! that skipped keyboard-interactive (`AuthenticationMethods publickey` in a
//! `Match` block) meet no other pam-mfa line.

use super::pam_flow::ends_or_skips;
use super::pam_stack::{stack, PamLine};
use super::Facts;

/// Why pam_mfa.so in an account stack may not decide.
pub struct AccountMiss {
    /// What is wrong, naming the file and the lines.
    pub what: String,
    /// The line that can end the stack or jump over pam_mfa.so first
    /// (`file:line` and its module), when there is one.
    pub first_exit: Option<String>,
}

/// Why pam_mfa.so in `service`'s account stack may not decide, or None
/// when it does: no `required` (or `requisite`) line loads it, or each
/// line that does comes after a line that can end the stack or jump over
/// it ([`ends_or_skips`]; `sufficient` ends it with success), other than
/// one that `excused` lets stand (sudo's root skip).
pub fn account_mfa_missed(
    f: &Facts,
    service: &str,
    excused: impl Fn(&PamLine) -> bool,
) -> Option<AccountMiss> {
    let lines = stack(&f.pam_files, service, "account");
    let mut blocked = None;
    for (j, l) in lines.iter().enumerate() {
        if !l.is_mfa() || !matches!(l.control.as_str(), "required" | "requisite") {
            continue;
        }
        let lets_through = |i: usize| excused(&lines[i]) || !ends_or_skips(&lines, i, j);
        match (0..j).find(|&i| !lets_through(i)) {
            None => return None,
            Some(i) => blocked = blocked.or(Some((i, j))),
        }
    }
    let file = format!("{}/{service}", f.pam_dir);
    let Some((i, j)) = blocked else {
        return Some(AccountMiss {
            what: format!("{file} has no `account required pam_mfa.so` line"),
            first_exit: None,
        });
    };
    let (b, m) = (&lines[i], &lines[j]);
    let what = format!(
        "{file}'s pam_mfa.so account line ({}) comes after {} ({} `{}`), which can end the account stack or jump over it first (Debian's common-account ends it with `new_authtok_reqd=done` for an expired password, a `sufficient` line with success)",
        m.at(),
        b.at(),
        b.module,
        b.control
    );
    Some(AccountMiss {
        what,
        first_exit: Some(format!("{} ({})", b.at(), b.module)),
    })
}
