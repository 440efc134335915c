//! The policy's decisions for root and the NOPASSWD accounts, as `mfactl
//! explain` gives them, on the example policy and on a cap that requires
//! MFA of every session.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::login_decisions::{gather_decisions, queries, LoginDecisions};
use super::tests::{good, ids, the_finding, SSHD_T};
use super::{check_host, exit_code, Facts, PasswordlessLogin, Severity};
use crate::config::{AgentConfig, ServiceMap};
use crate::ctl::AgentSocket;
use crate::login::explain;
use crate::policy::{load_bundle_str, NodeInfo};
use crate::state::BUILTIN_EXAMPLE;

/// agent.yaml on prod3 [env=prod] with the built-in example policy.
fn example_config() -> AgentConfig {
    AgentConfig::parse(
        "node:\n  name: prod3\n  labels: { env: prod }\ncluster:\n  source: builtin:example\n",
        "agent.yaml",
    )
    .unwrap()
}

/// The decisions of `bundle` on prod3 for root and `accounts`, as the
/// agent's `explain` gives them.
pub(super) fn decided(bundle: &str, accounts: &[&str]) -> LoginDecisions {
    let bundle = load_bundle_str(bundle, "t.yaml").unwrap();
    let node = NodeInfo {
        name: "prod3".into(),
        id: None,
        labels: [("env".to_string(), "prod".to_string())].into(),
    };
    let services = ServiceMap::new(&BTreeMap::new()).unwrap();
    let logins: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
    LoginDecisions {
        from: "the policy in force (the running agent)".into(),
        explanations: queries(&logins)
            .iter()
            .map(|q| explain(&bundle, &node, &services, q, SystemTime::now(), false))
            .collect(),
    }
}

/// The example with the cap's `require_session_mfa: true`: root and
/// debian are no cluster user's, so nobody can tap for them.
pub(super) fn session_mfa_everywhere() -> String {
    let cap = "  require_session_mfa: false\n  second_factor";
    assert!(BUILTIN_EXAMPLE.contains(cap));
    BUILTIN_EXAMPLE.replace(cap, "  require_session_mfa: true\n  second_factor")
}

pub(super) fn with_decisions(d: LoginDecisions) -> Facts {
    let mut f = good();
    f.login_decisions = Some(d);
    f
}

/// Reviewer's first case: root over SSH refused under the cap, doctor ok.
#[test]
fn root_over_ssh_that_nobody_can_tap_for_is_an_error() {
    let f = with_decisions(decided(&session_mfa_everywhere(), &[]));
    let x = &the_finding(&f, "policy.nobody_can_tap", Severity::Error);
    assert!(
        x.what.starts_with("login root (ssh class, service sshd) is allowed by the policy, but nobody can tap for it: it will be refused")
            && x.what.contains("PermitRootLogin yes"),
        "{}",
        x.what
    );
    assert!(
        x.why.starts_with("nobody can tap for this login"),
        "{}",
        x.why
    );
    assert!(
        x.fix.contains("mfactl enroll")
            && x.fix.contains("break-glass")
            && x.fix.contains("PermitRootLogin no"),
        "{}",
        x.fix
    );
    assert_eq!(exit_code(&check_host(&f)), 2);
    // Root kept out of SSH: nothing to say.
    let mut f = f;
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
    ));
    assert_eq!(ids(&f), Vec::<String>::new());
    // sshd trusts a CA: a Teleport certificate may still name the person.
    f.sshd_root = Some(Ok(format!(
        "{SSHD_T}trustedusercakeys /etc/ssh/teleport_user_ca.pub\n"
    )));
    let found = check_host(&f);
    assert_eq!(found[0].severity, Severity::Warning, "{found:#?}");
}

/// Reviewer's second case: the example policy gives root `mfa: off`, and
/// PermitRootLogin yes lets any key in root's authorized_keys in.
#[test]
fn root_over_ssh_with_mfa_off_is_a_warning_read_from_the_configured_source() {
    // No agent answers: the built-in source agent.yaml names is read here.
    let config = example_config();
    let no_agent = AgentSocket::of_root(std::path::Path::new("/nonexistent"));
    let d = gather_decisions(
        &no_agent,
        false,
        Some(&config),
        &queries(&[]),
        std::time::Duration::from_secs(1),
    )
    .expect("the built-in example is read");
    assert!(d.from.contains("builtin:example"), "{}", d.from);
    let mut f = with_decisions(d);
    let x = &the_finding(&f, "policy.root_ssh_mfa_off", Severity::Warning);
    assert!(
        x.what.contains("mfa: off") && x.what.contains("PermitRootLogin yes"),
        "{}",
        x.what
    );
    assert!(
        x.fix.contains("PermitRootLogin no") && x.fix.contains("require_session_mfa: true"),
        "{}",
        x.fix
    );
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
    ));
    assert_eq!(ids(&f), Vec::<String>::new());
    // An https:// source is not fetched by doctor.
    let https = AgentConfig::parse(
        "node:\n  name: prod3\ncluster:\n  source: https://policy.example.com/bundle.yaml\n",
        "agent.yaml",
    )
    .unwrap();
    assert!(gather_decisions(
        &no_agent,
        false,
        Some(&https),
        &queries(&[]),
        std::time::Duration::from_secs(1)
    )
    .is_none());
    assert!(gather_decisions(
        &no_agent,
        false,
        None,
        &queries(&[]),
        std::time::Duration::from_secs(1)
    )
    .is_none());
}

/// A cloud image's `debian ALL=(ALL) NOPASSWD:ALL` under the cap: its sudo
/// is refused once pam-mfa decides it.
#[test]
fn a_nopasswd_account_nobody_can_tap_for_is_an_error() {
    let mut f = with_decisions(decided(&session_mfa_everywhere(), &["debian", "alice"]));
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
    ));
    f.sudoers_passwordless = vec!["/etc/sudoers.d/90-cloud-init-users:1".into()];
    f.sudoers_passwordless_logins = vec![PasswordlessLogin {
        login: "debian".into(),
        at: "/etc/sudoers.d/90-cloud-init-users:1".into(),
    }];
    let found = check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "policy.nobody_can_tap")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(x.severity, Severity::Error);
    assert!(
        x.what
            .starts_with("login debian (admin class, service sudo)")
            && x.what
                .contains("90-cloud-init-users:1 lets debian run sudo without a password"),
        "{}",
        x.what
    );
    assert!(
        x.fix
            .contains("mfactl explain --login debian --service sudo"),
        "{}",
        x.fix
    );
    // The example policy asks no MFA of debian: nothing to say of it.
    f.login_decisions = Some(decided(BUILTIN_EXAMPLE, &["debian"]));
    assert!(
        !ids(&f).contains(&"policy.nobody_can_tap".to_string()),
        "{:?}",
        ids(&f)
    );
}

/// The reviewer's lockout: the example policy on prod3 and `jerry
/// ALL=(ALL) NOPASSWD: ALL`. jerry is one cluster user, with session MFA
/// on prod and no registered device, so his sudo is refused: an error,
/// whose fix is a device for jerry. With his key registered, nothing.
#[test]
fn a_nopasswd_account_of_one_user_without_a_device_is_an_error() {
    let mut f = with_decisions(decided(BUILTIN_EXAMPLE, &["jerry"]));
    f.sshd_root = Some(Ok(
        SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
    ));
    f.sudoers_passwordless = vec!["/etc/sudoers.d/jerry:1".into()];
    f.sudoers_passwordless_logins = vec![PasswordlessLogin {
        login: "jerry".into(),
        at: "/etc/sudoers.d/jerry:1".into(),
    }];
    let found = check_host(&f);
    let x = found
        .iter()
        .find(|x| x.id == "policy.nobody_can_tap")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(x.severity, Severity::Error);
    assert!(
        x.what.starts_with("login jerry (admin class, service sudo) is allowed by the policy, but nobody can tap for it: it will be refused")
            && x.what.contains("/etc/sudoers.d/jerry:1 lets jerry run sudo without a password"),
        "{}",
        x.what
    );
    assert!(
        x.why.contains("jerry has no registered device"),
        "{}",
        x.why
    );
    assert!(
        x.fix.starts_with("enroll a device (`mfactl enroll`) for jerry, the cluster user login jerry is decided for")
            && x.fix.contains("mfactl explain --login jerry --service sudo"),
        "{}",
        x.fix
    );
    assert_eq!(exit_code(&found), 2);
    let key = "---\nkind: mfa_device\nversion: v1\nmetadata: {name: jerry-key}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIC0F/LJRSd23qXKZ9xHqOm9z6D8ciF5N9g+7iIaEJfEkAAAABHNzaDo= jerry@laptop\"\n";
    f.login_decisions = Some(decided(&format!("{BUILTIN_EXAMPLE}{key}"), &["jerry"]));
    assert!(
        !ids(&f).contains(&"policy.nobody_can_tap".to_string()),
        "{:#?}",
        check_host(&f)
    );
}

/// Root's own sudo authenticates nobody but runs sudo's account stack,
/// where the agent lets it through whatever the policy: only the agent
/// being down refuses it. Without README's root skip before pam_mfa.so,
/// that is a warning, never a `policy.nobody_can_tap` error (even under a
/// cap that requires MFA everywhere, where nobody can tap for root).
#[test]
fn roots_sudo_without_the_skip_line_depends_on_the_agent_whatever_the_policy() {
    for roots_nopasswd in [&[][..], &["root"][..]] {
        let mut f = with_decisions(decided(&session_mfa_everywhere(), roots_nopasswd));
        f.sshd_root = Some(Ok(
            SSHD_T.replace("permitrootlogin yes", "permitrootlogin no")
        ));
        if !roots_nopasswd.is_empty() {
            f.sudoers_passwordless = vec!["/etc/sudoers:3".into()];
            f.sudoers_passwordless_logins = vec![PasswordlessLogin {
                login: "root".into(),
                at: "/etc/sudoers:3".into(),
            }];
        }
        let sudo = f.pam_files["sudo"].clone();
        let [skip, mfa] = super::sudoers::NOPASSWD_ACCOUNT_LINES;
        f.pam_files.insert(
            "sudo".into(),
            format!("{sudo}@include common-account\n{skip}\n{mfa}\n"),
        );
        assert_eq!(ids(&f), Vec::<String>::new(), "{roots_nopasswd:?}");
        f.pam_files.insert(
            "sudo".into(),
            format!("{sudo}@include common-account\n{mfa}\n"),
        );
        let found = check_host(&f);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].id, "pam.sudo.root_needs_agent");
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].fix.contains(skip), "{}", found[0].fix);
    }
    // Without any policy to read, the same.
    let mut f = good();
    f.login_decisions = None;
    let sudo = f.pam_files["sudo"].clone();
    f.pam_files.insert(
        "sudo".into(),
        format!("{sudo}@include common-account\naccount required pam_mfa.so\n"),
    );
    assert!(ids(&f).contains(&"pam.sudo.root_needs_agent".to_string()));
}

/// No policy to read: doctor says what it said before.
#[test]
fn without_a_policy_nothing_is_said_of_the_logins() {
    let mut f = good();
    f.login_decisions = None;
    f.sudoers_passwordless_logins = vec![PasswordlessLogin {
        login: "debian".into(),
        at: "/etc/sudoers:3".into(),
    }];
    assert!(!ids(&f).iter().any(|i| i.starts_with("policy.")));
}
