//! sshd's pam_mfa.so account line must come before the lines that can end
//! the account stack: a login that skipped keyboard-interactive meets no
//! other pam-mfa check (`pam.sshd.account_skipped`).

use super::sudoers::tests::DEBIAN_COMMON_ACCOUNT;
use super::tests::{good, ids, the_finding};
use super::{check_host, Facts, Severity};

/// The account lines of RHEL 9's password-auth, as authselect writes it.
const RHEL_PASSWORD_AUTH: &str =
    "account     required                                     pam_unix.so\n\
account     sufficient                                   pam_localuser.so\n\
account     sufficient                                   pam_usertype.so issystem\n\
account     [default=bad success=ok user_unknown=ignore] pam_sss.so\n\
account     required                                     pam_permit.so\n";

/// A good host whose /etc/pam.d/sshd has `account` (its account lines).
fn sshd_with_account(account: &str) -> Facts {
    let mut f = good();
    f.pam_files
        .insert("common-account".into(), DEBIAN_COMMON_ACCOUNT.into());
    f.pam_files
        .insert("password-auth".into(), RHEL_PASSWORD_AUTH.into());
    f.pam_files.insert(
        "sshd".into(),
        format!("auth required pam_mfa.so\naccount required pam_nologin.so\n{account}@include common-session\nsession required pam_mfa.so\n"),
    );
    f
}

/// An expired password ends Debian's common-account (`new_authtok_reqd=done`)
/// before a pam_mfa.so line after it: the finding names that line and
/// where the pam_mfa.so line goes.
#[test]
fn sshds_account_line_after_debians_common_account_is_reported() {
    let f = sshd_with_account("@include common-account\naccount required pam_mfa.so\n");
    let x = the_finding(&f, "pam.sshd.account_skipped", Severity::Warning);
    assert!(x.what.contains("/etc/pam.d/sshd"), "{}", x.what);
    assert!(x.what.contains("common-account:2"), "{}", x.what);
    assert!(x.what.contains("new_authtok_reqd=done"), "{}", x.what);
    assert!(
        x.fix.contains("right before `@include common-account`")
            && x.fix.contains("before common-account:2 (pam_unix.so)"),
        "{}",
        x.fix
    );
}

#[test]
fn sshds_account_line_before_debians_common_account_is_no_finding() {
    let f = sshd_with_account("account required pam_mfa.so\n@include common-account\n");
    assert_eq!(ids(&f), Vec::<String>::new());
}

/// Under `substack`, `done` ends only the substack (pam.conf(5)): a
/// pam_mfa.so line after `account substack common-account` still runs.
#[test]
fn sshds_account_line_after_a_common_account_substack_is_no_finding() {
    let f = sshd_with_account("account substack common-account\naccount required pam_mfa.so\n");
    assert_eq!(ids(&f), Vec::<String>::new());
    // Included instead, the same lines end the whole stack.
    let f = sshd_with_account("account include common-account\naccount required pam_mfa.so\n");
    the_finding(&f, "pam.sshd.account_skipped", Severity::Warning);
}

/// RHEL's password-auth ends an `include`d account stack for every local
/// user (`sufficient pam_localuser.so`): after it, pam_mfa.so never runs.
#[test]
fn sshds_account_line_after_rhels_password_auth_is_reported() {
    let f = sshd_with_account("account include password-auth\naccount required pam_mfa.so\n");
    let x = the_finding(&f, "pam.sshd.account_skipped", Severity::Warning);
    assert!(x.what.contains("password-auth:2"), "{}", x.what);
    assert!(
        x.what.contains("pam_localuser.so `sufficient`"),
        "{}",
        x.what
    );
    assert!(
        x.fix.contains("`account include password-auth`"),
        "{}",
        x.fix
    );
    let f = sshd_with_account("account required pam_mfa.so\naccount include password-auth\n");
    assert_eq!(ids(&f), Vec::<String>::new());
}

/// sudo's root skip is no excuse in sshd: sshd runs as root, so a
/// `use_uid uid = 0` test skips pam_mfa.so for everyone.
#[test]
fn a_root_skip_before_sshds_account_line_is_reported() {
    let f = sshd_with_account(
        "account [success=1 default=ignore] pam_succeed_if.so quiet use_uid uid = 0\naccount required pam_mfa.so\n@include common-account\n",
    );
    let x = the_finding(&f, "pam.sshd.account_skipped", Severity::Warning);
    assert!(x.what.contains("pam_succeed_if.so"), "{}", x.what);
}

/// No account line at all stays `pam.sshd.account_missing`, whose fix puts
/// the line where README does.
#[test]
fn a_missing_account_line_goes_right_before_common_account() {
    let f = sshd_with_account("@include common-account\n");
    let x = the_finding(&f, "pam.sshd.account_missing", Severity::Warning);
    assert!(
        x.fix.contains("right before `@include common-account`"),
        "{}",
        x.fix
    );
}

/// config/pam.d/sshd, as shipped, over Debian's common-account: the
/// account line runs for every login.
#[test]
fn the_shipped_sshd_file_has_its_account_line_reached() {
    let mut f = sshd_with_account("");
    f.pam_files.insert(
        "sshd".into(),
        include_str!("../../../../config/pam.d/sshd").into(),
    );
    let found = check_host(&f);
    assert!(
        !found.iter().any(|x| x.id.starts_with("pam.sshd.account")),
        "{found:#?}"
    );
    // And README's step 2 block says the same.
    let readme = include_str!("../../../../README.md");
    assert!(
        readme
            .contains("pam_mfa.so\naccount    required     pam_mfa.so\n@include common-account\n"),
        "README.md's step 2 block no longer has the account line before common-account"
    );
}
