//! sudo rules that need no password: sudo then runs no PAM auth stack, so
//! pam_mfa.so there never runs; only the account stack does (README).

use std::path::Path;

use super::pam::{stack, PamLine};
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

/// pam_mfa.so runs in `service`'s account stack.
pub fn account_has_mfa(f: &Facts, service: &str) -> bool {
    stack(&f.pam_files, service, "account")
        .iter()
        .any(PamLine::is_mfa)
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
        .filter(|s| !account_has_mfa(f, s))
        .map(|service| {
            let file = format!("{}/{service}", f.pam_dir);
            Finding::new(
                &format!("pam.{service}.nopasswd"),
                Severity::Error,
                format!("sudoers lets sudo skip authentication ({rules}) and {file} has no `account` line for pam_mfa.so"),
                "with NOPASSWD (or !authenticate) sudo runs no auth stack: pam_mfa.so there never runs, and no tap is asked",
                nopasswd_fix(&file),
            )
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
    format!("add these two lines, in this order, after `@include common-account` in {file}: `{root_skip}` (root's own sudo needs no tap, also while the agent is down) and then `{mfa}` (the tap is then asked there); or remove NOPASSWD")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{good, ids};
    use super::*;

    #[test]
    fn nopasswd_and_not_authenticate_rules_are_found_and_comments_are_not() {
        let text = "# admin ALL=(ALL) NOPASSWD: ALL\n\
                    Defaults env_reset\n\
                    debian ALL=(ALL) NOPASSWD:ALL\n\
                    %ops ALL = (root) NOPASSWD: /usr/bin/systemctl, PASSWD: ALL\n\
                    Defaults:bob !authenticate\n\
                    alice ALL=(ALL:ALL) ALL\n\
                    #includedir /etc/sudoers.d\n";
        assert_eq!(lines_with(text, PASSWORDLESS), [3, 4, 5]);
        let dir = std::env::temp_dir().join(format!("pmfa-sudoers-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(dir.join("sudoers"), "root ALL=(ALL:ALL) ALL\n").unwrap();
        std::fs::write(
            dir.join("d/90-cloud-init-users"),
            "debian ALL=(ALL) NOPASSWD:ALL\n",
        )
        .unwrap();
        // sudo skips these names, and so does doctor.
        std::fs::write(dir.join("d/README.md"), "x ALL=(ALL) NOPASSWD:ALL\n").unwrap();
        std::fs::write(dir.join("d/old~"), "x ALL=(ALL) NOPASSWD:ALL\n").unwrap();
        let found = passwordless_rules(&dir.join("sudoers"), &dir.join("d"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ends_with("d/90-cloud-init-users:1"), "{found:?}");
    }

    #[test]
    fn nopasswd_with_no_account_stack_is_an_error_whatever_the_pam_files() {
        assert_eq!(
            lines_with("Defaults !pam_acct_mgmt\n", NO_ACCOUNT_STACK),
            [1]
        );
        let mut f = good();
        f.sudoers_no_account = vec!["/etc/sudoers:9".into()];
        // Without a passwordless rule, auth still runs: nothing to say.
        assert!(!ids(&f).contains(&"sudo.no_account_stack".to_string()));
        f.sudoers_passwordless = vec!["/etc/sudoers:12".into()];
        let text = f.pam_files["sudo"].clone();
        let [root_skip, mfa] = NOPASSWD_ACCOUNT_LINES;
        f.pam_files
            .insert("sudo".into(), format!("{text}{root_skip}\n{mfa}\n"));
        assert_eq!(ids(&f), ["sudo.no_account_stack"]);
    }

    #[test]
    fn nopasswd_needs_pam_mfa_in_the_sudo_account_stack() {
        let mut f = good();
        assert!(!ids(&f).iter().any(|i| i.ends_with(".nopasswd")));
        f.sudoers_passwordless = vec!["/etc/sudoers.d/90-cloud-init-users:1".into()];
        assert_eq!(ids(&f), ["pam.sudo.nopasswd"]);
        f.pam_files.insert(
            "sudo-i".into(),
            "@include common-auth\nauth required pam_mfa.so\n@include common-account\n".into(),
        );
        assert!(ids(&f).contains(&"pam.sudo-i.nopasswd".to_string()));
        for s in ["sudo", "sudo-i"] {
            let text = f.pam_files[s].clone();
            f.pam_files
                .insert(s.into(), format!("{text}account required pam_mfa.so\n"));
        }
        assert!(
            !ids(&f).iter().any(|i| i.ends_with(".nopasswd")),
            "{:?}",
            ids(&f)
        );
    }

    /// The fix names both of README's lines, root's skip first: with the
    /// pam_mfa.so line alone root's own sudo fails while the agent is down.
    #[test]
    fn nopasswd_fix_names_the_root_skip_line_before_the_pam_mfa_line() {
        let mut f = good();
        f.sudoers_passwordless = vec!["/etc/sudoers.d/90-cloud-init-users:1".into()];
        let found = super::super::check_host(&f);
        let fix = &found
            .iter()
            .find(|x| x.id == "pam.sudo.nopasswd")
            .expect("pam.sudo.nopasswd")
            .fix;
        let [root_skip, mfa] = NOPASSWD_ACCOUNT_LINES;
        let (a, b) = (fix.find(root_skip), fix.find(mfa));
        assert!(a.is_some() && b.is_some() && a < b, "{fix}");
        assert!(fix.contains("/etc/pam.d/sudo"), "{fix}");
        // Exactly the README's block, in that order.
        let readme = include_str!("../../../../README.md");
        assert!(
            readme.contains(&format!("```\n{root_skip}\n{mfa}\n```\n")),
            "README.md no longer shows the NOPASSWD account lines as doctor names them"
        );
    }

    /// With pam_mfa.so in sudo's account stack every sudo is decided: the
    /// timestamp spares only the password, and is no finding.
    #[test]
    fn with_pam_mfa_in_sudos_account_the_timestamp_is_no_finding() {
        let mut f = good();
        f.sudo_version = Some("Authentication timestamp timeout: 15.0 minutes\n".into());
        assert_eq!(ids(&f), ["sudo.timestamp_timeout"]);
        let text = f.pam_files["sudo"].clone();
        let [root_skip, mfa] = NOPASSWD_ACCOUNT_LINES;
        f.pam_files
            .insert("sudo".into(), format!("{text}{root_skip}\n{mfa}\n"));
        assert_eq!(ids(&f), Vec::<String>::new());
    }
}
