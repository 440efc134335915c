//! The PAM stacks that should load pam_mfa.so: present, once, and where
//! they run.

use super::pam_stack::{
    handlers, replace_common_auth, stack, PamLine, BREAK_GLASS_LINE, CONSOLE_TTY_GLOB,
};
use super::{pam_account, pam_flow, pam_missing, Facts, Finding, Severity};

pub fn check_pam(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    // sudo-i: Debian's sudo runs `sudo -i` as its own service, with its own
    // `@include common-auth`; su-l is util-linux su's for `su -l` (most
    // include su); polkit-1 (pkexec, polkit's admin prompts) likewise.
    // Each is checked only where its file exists.
    let mut services: Vec<&str> = vec!["sshd", "sudo", "sudo-i", "su", "su-l", "login", "polkit-1"];
    let gdm: Vec<&String> = f
        .pam_files
        .keys()
        .filter(|k| {
            k.starts_with("gdm-") && *k != "gdm-autologin" && *k != "gdm-launch-environment"
        })
        .collect();
    services.extend(gdm.iter().map(|s| s.as_str()));
    for service in services {
        if !f.pam_files.contains_key(service) {
            continue;
        }
        out.extend(check_auth(f, service));
    }
    if f.pam_files.contains_key("sshd") {
        out.extend(check_sshd_phases(f));
    }
    if f.pam_files.contains_key("login") {
        out.extend(check_login_break_glass(f));
    }
    out
}

/// pam_mfa.so in login's stack with no break-glass before it: root at the
/// console is refused too while the agent is down or has no policy.
fn check_login_break_glass(f: &Facts) -> Vec<Finding> {
    let file = format!("{}/login", f.pam_dir);
    let lines = handlers(&f.pam_files, "login", "auth");
    let Some(first) = lines.iter().position(PamLine::is_mfa) else {
        return Vec::new();
    };
    // `success=1` jumps over exactly the next line (or substack): only
    // right before pam_mfa.so does it let root at the console past it.
    if let Some(glass) = pam_flow::break_glass_over(&lines, first) {
        let glass = &lines[glass];
        let Some(missed) = glass.console_missed() else {
            return Vec::new();
        };
        return vec![Finding::new(
            "pam.login.break_glass_misses_consoles",
            Severity::Warning,
            format!("{}: the break-glass's `tty =~` glob misses {missed}", glass.at()),
            "while the agent is stopped or has no usable policy, root cannot log in at those consoles either",
            format!("write `tty =~ {CONSOLE_TTY_GLOB}` instead (`{BREAK_GLASS_LINE}`; `pam-auth-update --package` rewrites the profile's line)"),
        )];
    }
    vec![Finding::new(
        "pam.login.no_break_glass",
        Severity::Warning,
        format!("{file}: pam_mfa.so runs for root at the console too (no break-glass line right before it)"),
        "while the agent is stopped or has no usable policy, root cannot log in anywhere: the console is the way back in",
        format!("put `{BREAK_GLASS_LINE}` just before `auth required pam_mfa.so` in {file} (`pam-auth-update --enable pam-mfa` writes both), and give root a password; leave it out only where root must tap at the console as well"),
    )]
}

fn check_auth(f: &Facts, service: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let file = format!("{}/{service}", f.pam_dir);
    let lines = handlers(&f.pam_files, service, "auth");
    let mfa: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].is_mfa()).collect();
    if mfa.is_empty() {
        return vec![pam_missing::missing(f, service)];
    }
    if mfa.len() > 1 {
        let places: Vec<String> = mfa.iter().map(|&i| lines[i].at()).collect();
        out.push(Finding::new(
            &format!("pam.{service}.duplicated"),
            Severity::Warning,
            format!("{file}: pam_mfa.so runs {} times in auth ({})", mfa.len(), places.join(", ")),
            "each line asks the agent again: a person may be asked to tap twice",
            "keep one: remove the line from the service file when common-auth has it (pam-auth-update), or disable the profile (`pam-auth-update --disable pam-mfa`)".into(),
        ));
    }
    if let Some(why) = mfa
        .iter()
        .find_map(|&j| pam_flow::not_effective(&lines, j, service))
    {
        out.push(Finding::new(
            &format!("pam.{service}.not_effective"),
            Severity::Error,
            format!("{file}: {why}"),
            "a login can pass this stack without pam-mfa's decision",
            format!("load it as `auth required pam_mfa.so`, after the lines that must run first and outside any jump, in {file}"),
        ));
    }
    if service == "sshd" && lines.iter().any(|l| l.module.ends_with("pam_unix.so")) {
        out.push(Finding::new(
            "pam.sshd.password_after_key",
            Severity::Error,
            format!("{file}: auth still runs pam_unix.so (common-auth) besides pam_mfa.so"),
            "keyboard-interactive then asks for the Unix password after the key: accounts without a usable password (root on most hosts) cannot log in",
            replace_common_auth(&file),
        ));
    }
    out
}

fn check_sshd_phases(f: &Facts) -> Vec<Finding> {
    let file = format!("{}/sshd", f.pam_dir);
    let mut out = Vec::new();
    for (kind, place, why) in [
        (
            "account",
            "right before `@include common-account` (`account include password-auth` on RPM systems)",
            "a login that skipped keyboard-interactive is not checked in the account phase",
        ),
        (
            "session",
            "after `@include common-session`",
            "sessions are not registered with the agent: a lock or a policy change cannot end them",
        ),
    ] {
        if !stack(&f.pam_files, "sshd", kind)
            .iter()
            .any(PamLine::is_mfa)
        {
            out.push(Finding::new(
                &format!("pam.sshd.{kind}_missing"),
                Severity::Warning,
                format!("{file}: no {kind} line loads pam_mfa.so"),
                why,
                format!("add `{kind} required pam_mfa.so` {place} in {file}"),
            ));
        } else if kind == "account" {
            out.extend(check_sshd_account_reached(f, &file));
        }
    }
    out
}

/// sshd's pam_mfa.so account line where a line before it can end the
/// stack or jump over it: Debian's common-account ends it for an expired
/// password (`new_authtok_reqd=done`), RHEL's password-auth for every local
/// user (`sufficient pam_localuser.so`), and a login that skipped
/// keyboard-interactive then meets no pam-mfa check.
fn check_sshd_account_reached(f: &Facts, file: &str) -> Option<Finding> {
    // No line is excused: sshd runs as root, so a `use_uid uid = 0` skip
    // (sudo's) would skip everyone.
    let missed = pam_account::account_mfa_missed(f, "sshd", |_| false)?;
    let before = missed
        .first_exit
        .as_ref()
        .map(|l| format!(", so before {l}"))
        .unwrap_or_default();
    Some(Finding::new(
        "pam.sshd.account_skipped",
        Severity::Warning,
        missed.what,
        "a login that skipped keyboard-interactive (a Match block's `AuthenticationMethods publickey`) with an expired password, or any local user on RPM systems, gets no pam-mfa check in the account phase",
        format!("put `account required pam_mfa.so` right before `@include common-account` (`account include password-auth` on RPM systems) in {file}{before}, in place of the pam_mfa.so account line it has now"),
    ))
}
