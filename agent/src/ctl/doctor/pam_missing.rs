//! A PAM service whose auth stack loads no pam_mfa.so, and how bad that
//! is: a way around the tap where the same command under its other name
//! asks for it.

use super::pam_stack::{replace_common_auth, stack, PamLine, BREAK_GLASS_LINE};
use super::{Facts, Finding, Severity};

/// The services one command runs under two names (`sudo -i`, `su -l`).
const SIBLINGS: [(&str, &str); 2] = [("sudo", "sudo-i"), ("su", "su-l")];

/// `service`'s other name when its stack loads pam_mfa.so: the command
/// asks for the tap one way and not the other.
fn sibling_with_mfa(f: &Facts, service: &str) -> Option<&'static str> {
    SIBLINGS
        .iter()
        .find_map(|&(a, b)| match service {
            s if s == a => Some(b),
            s if s == b => Some(a),
            _ => None,
        })
        .filter(|s| stack(&f.pam_files, s, "auth").iter().any(PamLine::is_mfa))
}

/// `service`'s stack loads no pam_mfa.so: an error for sshd, and where
/// the same command under its other name asks for the tap (a way around
/// it); else a service pam-mfa is not set up for, a warning.
pub(super) fn missing(f: &Facts, service: &str) -> Finding {
    let file = format!("{}/{service}", f.pam_dir);
    let sibling = sibling_with_mfa(f, service);
    let (severity, why) = if service == "sshd" {
        (
            Severity::Error,
            "SSH logins are not checked by pam-mfa: no tap is ever asked, no lock refuses them"
                .to_string(),
        )
    } else if let Some(other) = sibling {
        (Severity::Error, format!("{other} asks for the tap, {service} does not: the same command under its other name (`sudo -i`, `su -l`) lets in without it"))
    } else {
        (Severity::Warning, "this service is not checked by pam-mfa: the policy's MFA requirement does not apply to it".to_string())
    };
    let fix = if service == "sshd" {
        replace_common_auth(&file)
    } else if service == "login" {
        format!("`pam-auth-update --enable pam-mfa` (common-auth), or after `@include common-auth` in {file} add `{BREAK_GLASS_LINE}` (root's break-glass at the console) and then `auth required pam_mfa.so`")
    } else if service == "polkit-1" {
        // polkit 122 ships its file only as /usr/lib/pam.d/polkit-1: an
        // /etc/pam.d/polkit-1 holding that line alone would replace it,
        // and polkit would ask for no password.
        format!("`[ -e {file} ] || cp -p /usr/lib/pam.d/polkit-1 {file}` (polkit 122 ships it only in /usr/lib/pam.d; a file holding the line alone would replace it), then add `auth required pam_mfa.so` after `@include common-auth` in {file}; or `pam-auth-update --enable pam-mfa` (common-auth)")
    } else {
        format!("add `auth required pam_mfa.so` after `@include common-auth` in {file}, or `pam-auth-update --enable pam-mfa` (common-auth)")
    };
    Finding::new(
        &format!("pam.{service}.missing"),
        severity,
        format!("{file}: no auth line loads pam_mfa.so"),
        &why,
        fix,
    )
}
