//! sudo rules that need no password: sudo then runs no PAM auth stack, so
//! pam_mfa.so there never runs; only the account stack does (README).

use std::path::Path;

use super::pam_account;
use super::pam_stack::PamLine;
use super::{Facts, Finding, Severity};

/// The main sudoers file and the directory sudo's stock file includes.
pub const SUDOERS: &str = "/etc/sudoers";
pub const SUDOERS_D: &str = "/etc/sudoers.d";
/// Larger files are not read (a sudoers file is a few KiB).
const MAX_SUDOERS_FILE: u64 = 1 << 20;

/// Words of a sudoers rule or default that let sudo skip authentication.
pub const PASSWORDLESS: &[&str] = &["NOPASSWD", "!authenticate"];
/// The default that makes sudo skip the account stack too.
pub const NO_ACCOUNT_STACK: &[&str] = &["!pam_acct_mgmt"];

/// `file:line` of each rule or default that lets sudo skip authentication
/// ([`PASSWORDLESS`]). Comments are skipped; aliases and who the rule is for
/// are not resolved (any such rule is worth a look).
pub fn passwordless_rules(main: &Path, dir: &Path) -> Vec<String> {
    sudoers_lines(main, dir, PASSWORDLESS)
}

/// `file:line` of each line of the sudoers files holding one of `words`.
pub fn sudoers_lines(main: &Path, dir: &Path, words: &[&str]) -> Vec<String> {
    matching_lines(main, dir, words)
        .into_iter()
        .map(|(at, _)| at)
        .collect()
}

/// (`file:line`, the line) of each line of the sudoers files holding one
/// of `words`, in the order sudo reads them.
pub fn matching_lines(main: &Path, dir: &Path, words: &[&str]) -> Vec<(String, String)> {
    let mut files = vec![main.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            // sudo's @includedir skips names with a `.` or ending in `~`.
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.contains('.') && !n.ends_with('~'))
            })
            .collect();
        names.sort();
        files.extend(names);
    }
    let mut out = Vec::new();
    for file in files {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_SUDOERS_FILE {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        out.extend(
            lines_with(&text, words)
                .into_iter()
                .map(|n| (format!("{}:{n}", file.display()), lines[n - 1].to_string())),
        );
    }
    out
}

/// The numbers of the lines of `text` (comments skipped) holding one of
/// `words`, as sudoers separates them.
fn lines_with(text: &str, wanted: &[&str]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        // `#include`/`#includedir` are directives, every other `#` a comment.
        if line.starts_with('#') {
            continue;
        }
        let words = line.split(|c: char| c.is_whitespace() || c == ',' || c == ':');
        if words.map(str::trim).any(|w| wanted.contains(&w)) {
            out.push(i + 1);
        }
    }
    out
}

/// pam_mfa.so decides every sudo through `service`'s account stack
/// ([`account_mfa_missed`] finds nothing to say).
pub fn account_has_mfa(f: &Facts, service: &str) -> bool {
    account_mfa_missed(f, service).is_none()
}

/// Why pam_mfa.so in `service`'s account stack may not decide a sudo, or
/// None when it does ([`pam_account::account_mfa_missed`], root's skip
/// excused: [`is_root_skip`]).
pub fn account_mfa_missed(f: &Facts, service: &str) -> Option<String> {
    pam_account::account_mfa_missed(f, service, is_root_skip).map(|m| m.what)
}

/// README's first NOPASSWD line: a one-line jump taken only when sudo's
/// caller (real uid, `use_uid`) is root.
fn is_root_skip(l: &PamLine) -> bool {
    let control = l.control.split_whitespace().collect::<Vec<_>>().join(" ");
    let words: Vec<&str> = l.args.split_whitespace().collect();
    l.module.rsplit('/').next() == Some("pam_succeed_if.so")
        && control == "[success=1 default=ignore]"
        && words.contains(&"use_uid")
        && words.windows(3).any(|w| w == ["uid", "=", "0"])
}

/// sudo services whose account stack lacks pam_mfa.so while some rule
/// lets sudo skip authentication: there the policy's tap is never asked.
pub fn check_passwordless_sudo(f: &Facts) -> Vec<Finding> {
    if f.sudoers_passwordless.is_empty() {
        return Vec::new();
    }
    let rules = f.sudoers_passwordless.join(", ");
    if !f.sudoers_no_account.is_empty() {
        return vec![Finding::new(
            "sudo.no_account_stack",
            Severity::Error,
            format!(
                "sudoers lets sudo skip authentication ({rules}) and its account stack too ({})",
                f.sudoers_no_account.join(", ")
            ),
            "with NOPASSWD and !pam_acct_mgmt sudo runs no pam-mfa line at all: no tap is asked, no lock refuses it",
            "remove `Defaults !pam_acct_mgmt` (then add the account lines of README's NOPASSWD step), or remove NOPASSWD".into(),
        )];
    }
    ["sudo", "sudo-i"]
        .into_iter()
        .filter(|s| f.pam_files.contains_key(*s))
        .filter_map(|service| {
            let missed = account_mfa_missed(f, service)?;
            let file = format!("{}/{service}", f.pam_dir);
            Some(Finding::new(
                &format!("pam.{service}.nopasswd"),
                Severity::Error,
                format!("sudoers lets sudo skip authentication ({rules}) and {missed}"),
                "with NOPASSWD (or !authenticate) sudo runs no auth stack: only a pam_mfa.so line that every sudo reaches in the account stack asks for the tap",
                nopasswd_fix(&file),
            ))
        })
        .collect()
}

/// The two account lines README's NOPASSWD step adds, in order: the first
/// lets root's own sudo (cron, scripts, a root shell) skip the next line,
/// so that it still works while the agent is down; alone, the second ends
/// it then ("sudo: PAM account management error").
pub const NOPASSWD_ACCOUNT_LINES: [&str; 2] = [
    "account [success=1 default=ignore] pam_succeed_if.so quiet use_uid uid = 0",
    "account required pam_mfa.so",
];

fn nopasswd_fix(file: &str) -> String {
    let [root_skip, mfa] = NOPASSWD_ACCOUNT_LINES;
    format!("put these two lines, in this order, right before `@include common-account` (`account include system-auth` on RPM systems) in {file}, and take out any you added after it: `{root_skip}` (root's own sudo needs no tap, also while the agent is down) and then `{mfa}` (the tap is then asked there, before an expired password can end the stack); or remove NOPASSWD")
}

#[cfg(test)]
#[path = "sudoers_tests.rs"]
pub(super) mod tests;
