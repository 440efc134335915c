//! sudoers.rs's tests: the passwordless rules, and the account lines
//! that must decide them.

use super::super::tests::{good, ids};
use super::super::Severity;
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

/// Debian 12's /etc/pam.d/common-account, as pam-auth-update writes it
/// (sshd_account_tests.rs uses it too).
pub(in super::super) const DEBIAN_COMMON_ACCOUNT: &str =
    "# here are the per-package modules (the \"Primary\" block)\n\
account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so \n\
account\trequisite\t\t\tpam_deny.so\n\
account\trequired\t\t\tpam_permit.so\n";

/// `sudo` as README's NOPASSWD step once wrote it (the account lines after
/// common-account), or as it writes it now (before).
fn sudo_with_account_lines(before_common_account: bool) -> crate::ctl::doctor::Facts {
    let mut f = good();
    f.sudoers_passwordless = vec!["/etc/sudoers.d/90-cloud-init-users:1".into()];
    f.pam_files
        .insert("common-account".into(), DEBIAN_COMMON_ACCOUNT.into());
    let [root_skip, mfa] = NOPASSWD_ACCOUNT_LINES;
    let account = if before_common_account {
        format!("{root_skip}\n{mfa}\n@include common-account\n")
    } else {
        format!("@include common-account\n{root_skip}\n{mfa}\n")
    };
    f.pam_files.insert(
        "sudo".into(),
        format!("@include common-auth\nauth required pam_mfa.so\n{account}"),
    );
    f
}

/// An expired password ends Debian's common-account (`new_authtok_reqd=done`)
/// and sudo lets NOPASSWD through that: the lines after it never run.
#[test]
fn nopasswd_lines_after_debians_common_account_are_an_error() {
    let f = sudo_with_account_lines(false);
    assert!(!account_has_mfa(&f, "sudo"));
    let found = super::super::check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "pam.sudo.nopasswd")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(x.severity, Severity::Error);
    assert!(x.what.contains("common-account:2"), "{}", x.what);
    assert!(x.what.contains("new_authtok_reqd=done"), "{}", x.what);
    assert!(
        x.fix.contains("right before `@include common-account`"),
        "{}",
        x.fix
    );
}

#[test]
fn nopasswd_lines_before_debians_common_account_are_no_finding() {
    let f = sudo_with_account_lines(true);
    assert!(account_has_mfa(&f, "sudo"));
    assert_eq!(ids(&f), Vec::<String>::new());
}

/// Which lines before pam_mfa.so keep it from deciding.
#[test]
fn a_line_that_can_end_or_jump_past_the_account_stack_is_an_error() {
    let mfa = "account required pam_mfa.so\n";
    for (before, counted) in [
        ("", true),
        ("account required pam_access.so\n", true),
        ("account requisite pam_nologin.so\n", true),
        ("account optional pam_echo.so\n", true),
        ("account [success=ok default=ignore] pam_sss.so\n", true),
        // A jump that lands on pam_mfa.so, not past it.
        (
            "account [success=1 default=ignore] pam_localuser.so\naccount required pam_deny.so\n",
            true,
        ),
        ("account sufficient pam_localuser.so\n", false),
        (
            "account [success=1 default=ignore] pam_localuser.so\n",
            false,
        ),
        ("account [success=ok default=die] pam_sss.so\n", false),
        (
            "account [success=ok new_authtok_reqd=done default=ignore] pam_unix.so\n",
            false,
        ),
        (
            "account [success=2 default=ignore] pam_unix.so\naccount requisite pam_deny.so\n",
            false,
        ),
        // Root's skip jumps over it on purpose, for root only.
        (NOPASSWD_ACCOUNT_LINES[0], true),
        // Without use_uid it tests the target user, root for most sudo.
        (
            "account [success=1 default=ignore] pam_succeed_if.so quiet uid = 0\n",
            false,
        ),
    ] {
        let mut f = good();
        let before = if before.ends_with('\n') {
            before.to_string()
        } else {
            format!("{before}\n")
        };
        f.pam_files.insert("sudo".into(), format!("{before}{mfa}"));
        assert_eq!(account_has_mfa(&f, "sudo"), counted, "{before}");
    }
    // Loaded other than required or requisite, its refusal refuses nothing.
    let mut f = good();
    f.pam_files
        .insert("sudo".into(), "account optional pam_mfa.so\n".into());
    assert!(!account_has_mfa(&f, "sudo"));
}
