//! Match blocks that change how some connections log in.

use super::tests::{good, ids, with_sshd};
use super::{check_host, exit_code, MatchSetting, Severity};

const BLOCK: &str = "/etc/ssh/sshd_config.d/60-sftp.conf:1";

/// A setting of the block at [`BLOCK`] (`Match Group sftponly`).
fn set(line: usize, keyword: &str, value: &str) -> MatchSetting {
    MatchSetting {
        at: format!("/etc/ssh/sshd_config.d/60-sftp.conf:{line}"),
        keyword: keyword.into(),
        value: value.into(),
        criteria: "Group sftponly".into(),
        block: BLOCK.into(),
    }
}

fn with_match(settings: Vec<MatchSetting>) -> super::Facts {
    let mut f = good();
    // /etc/pam.d/sshd keeps common-auth: only the Match check speaks.
    f.pam_files.insert(
        "sshd".into(),
        "@include common-auth\nauth required pam_mfa.so\n@include common-account\naccount required pam_mfa.so\n@include common-session\nsession required pam_mfa.so\n".into(),
    );
    f.sshd_match_settings = Some(Ok(settings));
    f
}

/// The reviewer's bypass: an sftp-only group with keyboard-interactive or
/// password alone logs in with no password once step 2 is in place.
#[test]
fn a_match_block_whose_methods_skip_the_key_is_an_error() {
    for value in [
        "keyboard-interactive",
        "password",
        "any",
        "publickey",
        "password,publickey",
        "publickey,keyboard-interactive keyboard-interactive",
        "keyboard-interactive,publickey",
    ] {
        let f = with_match(vec![set(2, "AuthenticationMethods", value)]);
        let found: Vec<_> = check_host(&f)
            .into_iter()
            .filter(|x| x.id != "pam.sshd.password_after_key")
            .collect();
        assert_eq!(found.len(), 1, "{value}: {found:#?}");
        let x = &found[0];
        assert_eq!(
            (x.id.as_str(), x.severity),
            ("sshd.match_authentication_methods", Severity::Error),
            "{value}"
        );
        assert!(
            x.what.contains("60-sftp.conf:2")
                && x.what.contains("Match Group sftponly")
                && x.what.contains(&format!("AuthenticationMethods {value}`")),
            "{}",
            x.what
        );
        assert!(x.why.contains("without a password"), "{}", x.why);
        assert!(
            x.fix.contains("60-sftp.conf:2")
                && x.fix
                    .contains("`AuthenticationMethods publickey,keyboard-interactive`")
                && x.fix.contains("sshd -T -C user="),
            "{}",
            x.fix
        );
        assert_eq!(exit_code(&found), 2);
    }
}

#[test]
fn a_match_block_that_asks_for_the_key_then_pam_mfa_is_fine() {
    for value in [
        "publickey,keyboard-interactive",
        "publickey,keyboard-interactive:pam",
        "publickey,publickey,keyboard-interactive publickey,keyboard-interactive",
    ] {
        let f = with_match(vec![
            set(2, "AuthenticationMethods", value),
            set(3, "PasswordAuthentication", "yes"),
        ]);
        assert_eq!(
            ids(&f),
            ["pam.sshd.password_after_key"],
            "{value}: only the common-auth the test put back"
        );
    }
}

/// Turning off what pam-mfa's path needs fails closed: the block's
/// accounts are refused, a warning.
#[test]
fn a_match_block_that_turns_off_pam_mfas_path_is_a_warning() {
    for (keyword, value) in [
        ("ExposeAuthInfo", "no"),
        ("PubkeyAuthentication", "no"),
        ("KbdInteractiveAuthentication", "no"),
        ("ChallengeResponseAuthentication", "No"),
    ] {
        let f = with_match(vec![set(2, keyword, value)]);
        let found: Vec<_> = check_host(&f)
            .into_iter()
            .filter(|x| x.id != "pam.sshd.password_after_key")
            .collect();
        assert_eq!(found.len(), 1, "{keyword}: {found:#?}");
        assert_eq!(
            (found[0].id.as_str(), found[0].severity),
            ("sshd.match_locks_out", Severity::Warning),
            "{keyword}"
        );
        assert!(
            found[0].what.contains("60-sftp.conf:2"),
            "{}",
            found[0].what
        );
    }
    // A block with its own methods is judged by them alone.
    let f = with_match(vec![
        set(2, "PubkeyAuthentication", "no"),
        set(3, "AuthenticationMethods", "keyboard-interactive"),
    ]);
    let got = ids(&f);
    assert!(got.contains(&"sshd.match_authentication_methods".to_string()));
    assert!(
        !got.contains(&"sshd.match_locks_out".to_string()),
        "{got:?}"
    );
    // Under a global `any` (its own error) nothing needs both.
    let mut f = with_sshd(
        "authenticationmethods publickey,keyboard-interactive",
        "authenticationmethods any",
    );
    f.sshd_match_settings = Some(Ok(vec![set(2, "PubkeyAuthentication", "no")]));
    assert!(!ids(&f).contains(&"sshd.match_locks_out".to_string()));
}

/// The key settings keep their own finding, once.
#[test]
fn key_settings_in_a_match_block_are_not_reported_twice() {
    let f = with_match(vec![
        set(2, "PubkeyAuthOptions", "none"),
        set(3, "AuthenticationMethods", "password"),
    ]);
    let got: Vec<String> = ids(&f)
        .into_iter()
        .filter(|i| i.starts_with("sshd."))
        .collect();
    assert_eq!(
        got,
        [
            "sshd.match_key_settings",
            "sshd.match_authentication_methods"
        ]
    );
}
