//! `PermitRootLogin` in Match blocks: the lockout of root's connections a
//! block covers.

use super::tests::{good, ids, with_sshd, SSHD_T};
use super::{check_host, exit_code, Finding, MatchSetting, Severity};

/// `PermitRootLogin` (or another keyword) in a block at
/// 70-admin.conf:1 with `criteria`.
fn in_block(criteria: &str, line: usize, keyword: &str, value: &str) -> MatchSetting {
    MatchSetting {
        at: format!("/etc/ssh/sshd_config.d/70-admin.conf:{line}"),
        keyword: keyword.into(),
        value: value.into(),
        criteria: criteria.into(),
        block: "/etc/ssh/sshd_config.d/70-admin.conf:1".into(),
    }
}

fn root_lockouts(f: &super::Facts) -> Vec<Finding> {
    check_host(f)
        .into_iter()
        .filter(|x| x.id == "sshd.permit_root_login")
        .collect()
}

/// The reviewer's lockout: `Match Address 127.0.0.2` with `PermitRootLogin
/// prohibit-password` aborts root's connections from there, whatever the
/// global value and root's view from 127.0.0.1 say.
#[test]
fn prohibit_password_in_a_match_block_that_covers_root_is_a_lockout() {
    for value in [
        "prohibit-password",
        "without-password",
        "forced-commands-only",
    ] {
        let mut f = good();
        f.sshd_match_settings = Some(Ok(vec![in_block(
            "Address 127.0.0.2",
            2,
            "PermitRootLogin",
            value,
        )]));
        let found = root_lockouts(&f);
        assert_eq!(found.len(), 1, "{value}: {found:#?}");
        let x = &found[0];
        assert_eq!(x.severity, Severity::Error);
        assert!(
            x.what.contains("70-admin.conf:2")
                && x.what.contains(&format!("`PermitRootLogin {value}`"))
                && x.what
                    .contains("`Match Address 127.0.0.2` (/etc/ssh/sshd_config.d/70-admin.conf:1)")
                && x.what.contains("publickey,keyboard-interactive"),
            "{}",
            x.what
        );
        assert!(x.why.contains("aborts"), "{}", x.why);
        assert!(
            x.fix
                .contains("in /etc/ssh/sshd_config.d/70-admin.conf:2, write `PermitRootLogin yes`")
                && x.fix.contains("sshd -T -C user=root"),
            "{}",
            x.fix
        );
        assert_eq!(exit_code(&check_host(&f)), 2);
    }
}

#[test]
fn a_match_blocks_permit_root_login_counts_only_where_it_may_cover_root() {
    let lockout = |criteria: &str| {
        let mut f = good();
        f.sshd_match_settings = Some(Ok(vec![in_block(
            criteria,
            2,
            "PermitRootLogin",
            "prohibit-password",
        )]));
        !root_lockouts(&f).is_empty()
    };
    for criteria in [
        "User root",
        "user=root",
        "User admin,ro?t Address 10.0.0.0/8",
        "User *,!olga",
        "Group wheel",
        "All",
        "Host *.example.com LocalPort 2222",
    ] {
        assert!(lockout(criteria), "{criteria}");
    }
    for criteria in [
        "User olga",
        "User *,!root",
        "Address 10.0.0.0/8 User deploy",
        "Invalid-User",
    ] {
        assert!(!lockout(criteria), "{criteria}");
    }
}

#[test]
fn permit_root_login_in_a_block_without_keyboard_interactive_or_yes_is_fine() {
    let mut f = good();
    f.sshd_match_settings = Some(Ok(vec![
        in_block("Address 127.0.0.2", 2, "PermitRootLogin", "no"),
        in_block("Address 127.0.0.3", 5, "PermitRootLogin", "yes"),
    ]));
    for s in f.sshd_match_settings.as_mut().unwrap().as_mut().unwrap() {
        s.block = s.at.clone();
    }
    assert_eq!(ids(&f), Vec::<String>::new());
    // The block's own methods decide (judged themselves, once).
    f.sshd_match_settings = Some(Ok(vec![
        in_block("User root", 2, "PermitRootLogin", "prohibit-password"),
        in_block("User root", 3, "AuthenticationMethods", "publickey"),
    ]));
    let got = ids(&f);
    assert!(
        got.contains(&"sshd.match_authentication_methods".to_string())
            && !got.contains(&"sshd.permit_root_login".to_string()),
        "{got:?}"
    );
}

/// A block covering root from 127.0.0.1 changes `sshd -T -C
/// user=root,...,addr=127.0.0.1`: the finding names the block, once, and
/// the value outside Match blocks is judged on its own.
#[test]
fn a_block_that_covers_root_from_localhost_is_named_once() {
    let mut f = good();
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin without-password")
    ));
    f.sshd_match_settings = Some(Ok(vec![in_block(
        "Address 127.0.0.1",
        2,
        "PermitRootLogin",
        "prohibit-password",
    )]));
    let found = root_lockouts(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].what.contains("70-admin.conf:2"),
        "{}",
        found[0].what
    );
    // The global prohibit-password too: two places, two findings.
    let mut f = with_sshd("permitrootlogin yes", "permitrootlogin without-password");
    f.sshd_match_settings = Some(Ok(vec![in_block(
        "Address 10.0.0.0/8",
        2,
        "PermitRootLogin",
        "prohibit-password",
    )]));
    let found = root_lockouts(&f);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].what.starts_with("sshd has PermitRootLogin"),
        "{}",
        found[0].what
    );
    assert!(
        found[1].what.contains("70-admin.conf:2"),
        "{}",
        found[1].what
    );
}
