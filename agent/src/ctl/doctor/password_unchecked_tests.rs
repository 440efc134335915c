//! /etc/pam.d/sshd with pam_mfa.so alone while sshd lets a login in
//! without its key: any password logs in.

use super::tests::{good, ids, with_sshd, SSHD_T};
use super::{check_host, exit_code, MatchSetting, Severity};

const ID: &str = "pam.sshd.password_unchecked";

fn has(f: &super::Facts) -> bool {
    ids(f).contains(&ID.to_string())
}

/// The reviewer's order, step 2 before step 1: sshd's defaults (no
/// AuthenticationMethods, passwords and keyboard-interactive on) and the
/// shipped /etc/pam.d/sshd.
#[test]
fn step_two_before_step_one_lets_any_password_in() {
    let defaults = SSHD_T.replace(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods any\npasswordauthentication yes",
    );
    let mut f = good();
    f.sshd = Some(Ok(defaults.clone()));
    let found = check_host(&f);
    let x = &found[0];
    assert_eq!(
        (x.id.as_str(), x.severity),
        (ID, Severity::Error),
        "{found:#?}"
    );
    assert!(
        x.what
            .starts_with("CRITICAL: /etc/pam.d/sshd checks no password"),
        "{}",
        x.what
    );
    assert!(x.what.contains("AuthenticationMethods any"), "{}", x.what);
    assert!(x.why.starts_with("any password logs in now"), "{}", x.why);
    assert!(x.fix.contains("`@include common-auth` back"), "{}", x.fix);
    assert_eq!(exit_code(&found), 2);
    // Keyboard-interactive alone is the same (pam_mfa.so asks nothing
    // where the policy asks no MFA).
    f.sshd = Some(Ok(
        defaults.replace("passwordauthentication yes", "passwordauthentication no")
    ));
    assert!(has(&f));
    // With neither on, only keys log in.
    f.sshd = Some(Ok(defaults
        .replace("passwordauthentication yes", "passwordauthentication no")
        .replace(
            "kbdinteractiveauthentication yes",
            "kbdinteractiveauthentication no",
        )));
    assert!(!has(&f), "{:?}", ids(&f));
    // A list without the key, globally.
    let f = with_sshd(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods publickey,keyboard-interactive password",
    );
    assert!(has(&f));
    // A key in every list: not this finding (sshd.authentication_methods).
    let f = with_sshd(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods keyboard-interactive,publickey",
    );
    assert!(!has(&f) && ids(&f).contains(&"sshd.authentication_methods".to_string()));
}

/// A password module in the stack checks the password; without PAM sshd
/// checks it itself.
#[test]
fn a_password_module_or_no_pam_closes_it() {
    let mut f = with_sshd(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods any",
    );
    assert!(has(&f));
    let open = f.clone();
    f.pam_files.insert(
        "sshd".into(),
        "@include common-auth\nauth required pam_mfa.so\n".into(),
    );
    assert!(!has(&f));
    f.pam_files.insert(
        "sshd".into(),
        "auth required pam_sss.so\nauth required pam_mfa.so\n".into(),
    );
    assert!(!has(&f));
    // Before step 2 (no pam_mfa.so) sshd checks what common-auth says.
    f.pam_files
        .insert("sshd".into(), "@include common-auth\n".into());
    assert!(!has(&f));
    let mut f = open;
    f.sshd = Some(Ok(SSHD_T
        .replace(
            "authenticationmethods publickey,keyboard-interactive",
            "authenticationmethods any",
        )
        .replace("usepam yes", "usepam no")));
    assert!(!has(&f), "{:?}", ids(&f));
}

fn block_setting(line: usize, keyword: &str, value: &str) -> MatchSetting {
    MatchSetting {
        at: format!("/etc/ssh/sshd_config:{line}"),
        keyword: keyword.into(),
        value: value.into(),
        criteria: "Group sftponly".into(),
        block: "/etc/ssh/sshd_config:130".into(),
    }
}

/// A Match block's own methods, over the global ones.
#[test]
fn a_match_block_without_the_key_lets_any_password_in_for_its_accounts() {
    let mut f = good();
    f.sshd_match_settings = Some(Ok(vec![block_setting(
        131,
        "AuthenticationMethods",
        "password",
    )]));
    let found = check_host(&f);
    assert_eq!(found[0].id, ID, "{found:#?}");
    assert!(
        found[0].what.contains("`Match Group sftponly` at /etc/ssh/sshd_config:130, with AuthenticationMethods password"),
        "{}",
        found[0].what
    );
    assert!(!found[0].what.contains("sshd -T has"), "{}", found[0].what);
    assert!(ids(&f).contains(&"sshd.match_authentication_methods".to_string()));
    // Its own `KbdInteractiveAuthentication no` closes keyboard-interactive
    // alone, not the global value.
    f.sshd_match_settings = Some(Ok(vec![
        block_setting(131, "AuthenticationMethods", "keyboard-interactive"),
        block_setting(132, "KbdInteractiveAuthentication", "no"),
    ]));
    assert!(!has(&f), "{:?}", ids(&f));
    // PasswordAuthentication yes under the global publickey,keyboard-interactive.
    f.sshd_match_settings = Some(Ok(vec![block_setting(
        131,
        "PasswordAuthentication",
        "yes",
    )]));
    assert_eq!(ids(&f), Vec::<String>::new());
    // A key first, then a password: not without the key.
    f.sshd_match_settings = Some(Ok(vec![block_setting(
        131,
        "AuthenticationMethods",
        "publickey,password",
    )]));
    assert!(!has(&f));
}

/// README step 2's fix, with its condition: only after step 1 is in force.
#[test]
fn the_fix_for_a_missing_sshd_line_waits_for_step_one() {
    let f = super::tests::with_pam("sshd", "@include common-auth\n@include common-account\naccount required pam_mfa.so\n@include common-session\nsession required pam_mfa.so\n");
    let found = check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "pam.sshd.missing")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert!(
        x.fix.starts_with(
            "only after `sshd -T` shows `authenticationmethods publickey,keyboard-interactive`"
        ) && x
            .fix
            .contains("replace `@include common-auth` with `auth required pam_mfa.so`")
            && x.fix.contains("any password logs in"),
        "{}",
        x.fix
    );
}
