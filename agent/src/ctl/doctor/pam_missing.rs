//! A PAM service whose auth stack loads no pam_mfa.so, and how bad that
//! is.

use super::pam::{replace_common_auth, BREAK_GLASS_LINE};
use super::{Facts, Finding, Severity};

/// `service`'s stack loads no pam_mfa.so: an error for sshd, else a
/// service pam-mfa is not set up for, a warning.
pub(super) fn missing(f: &Facts, service: &str) -> Finding {
    let file = format!("{}/{service}", f.pam_dir);
    let (severity, why) = if service == "sshd" {
        (
            Severity::Error,
            "SSH logins are not checked by pam-mfa: no tap is ever asked, no lock refuses them"
                .to_string(),
        )
    } else {
        (Severity::Warning, "this service is not checked by pam-mfa: the policy's MFA requirement does not apply to it".to_string())
    };
    let fix = if service == "sshd" {
        replace_common_auth(&file)
    } else if service == "login" {
        format!("`pam-auth-update --enable pam-mfa` (common-auth), or after `@include common-auth` in {file} add `{BREAK_GLASS_LINE}` (root's break-glass at the console) and then `auth required pam_mfa.so`")
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
