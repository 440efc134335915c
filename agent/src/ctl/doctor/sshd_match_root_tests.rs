//! `PermitRootLogin` in Match blocks: the lockout of root's connections a
//! block covers, and root let in by a block for the policy's checks.

use super::login_decisions_tests::{decided, session_mfa_everywhere, with_decisions};
use super::tests::{good, ids, the_finding, with_sshd, SSHD_T};
use super::{check_host, exit_code, Finding, MatchSetting, Severity};
use crate::state::BUILTIN_EXAMPLE;

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

/// The reviewer's open door: `PermitRootLogin no` outside Match blocks,
/// `Match Address 127.0.0.2` with `PermitRootLogin yes`, and the example
/// policy's `mfa: off` for root: a plain key logs in as root from there
/// with no tap. The warning names the block and its line.
#[test]
fn root_let_in_by_a_match_block_with_mfa_off_is_a_warning() {
    let mut f = with_decisions(decided(BUILTIN_EXAMPLE, &[]));
    let no = SSHD_T.replace("permitrootlogin yes", "permitrootlogin no");
    f.sshd = Some(Ok(no.clone()));
    f.sshd_root = Some(Ok(no));
    assert_eq!(ids(&f), Vec::<String>::new());
    f.sshd_match_settings = Some(Ok(vec![in_block(
        "Address 127.0.0.2",
        2,
        "PermitRootLogin",
        "yes",
    )]));
    let x = &the_finding(&f, "policy.root_ssh_mfa_off", Severity::Warning);
    assert!(
        x.what.contains("mfa: off")
            && x.what.contains("`PermitRootLogin yes` at /etc/ssh/sshd_config.d/70-admin.conf:2 inside `Match Address 127.0.0.2`")
            && !x.what.contains("PermitRootLogin no"),
        "{}",
        x.what
    );
    assert!(
        x.fix.contains(
            "`PermitRootLogin no` in place of the line at /etc/ssh/sshd_config.d/70-admin.conf:2"
        ) && !x.fix.contains("pam-mfa.conf"),
        "{}",
        x.fix
    );
    // A block that cannot cover root lets nobody in as root.
    f.sshd_match_settings = Some(Ok(vec![in_block("User olga", 2, "PermitRootLogin", "yes")]));
    assert_eq!(ids(&f), Vec::<String>::new());
    // Under the cap nobody can tap for root: refused there, an error
    // naming the block.
    f.sshd_match_settings = Some(Ok(vec![in_block(
        "Address 127.0.0.2",
        2,
        "PermitRootLogin",
        "yes",
    )]));
    f.login_decisions = Some(decided(&session_mfa_everywhere(), &[]));
    let found = check_host(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].id, "policy.nobody_can_tap");
    assert!(
        found[0].what.contains("70-admin.conf:2"),
        "{}",
        found[0].what
    );
}

/// A block that keeps root out from 127.0.0.1 (`sshd -T -C
/// user=root,...,addr=127.0.0.1` then says no) leaves the global `yes`
/// everywhere else: still the warning, naming both lines to change.
#[test]
fn a_block_that_keeps_root_out_of_localhost_only_still_warns() {
    let mut f = with_decisions(decided(BUILTIN_EXAMPLE, &[]));
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
    ));
    f.sshd_match_settings = Some(Ok(vec![in_block(
        "Address 127.0.0.1",
        2,
        "PermitRootLogin",
        "no",
    )]));
    let found = check_host(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].id, "policy.root_ssh_mfa_off");
    assert!(
        found[0]
            .fix
            .contains("`PermitRootLogin no` in /etc/ssh/sshd_config.d/pam-mfa.conf"),
        "{}",
        found[0].fix
    );
}
