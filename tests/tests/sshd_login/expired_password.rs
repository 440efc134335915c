//! An SSH login that skips keyboard-interactive (a `Match` block's
//! `AuthenticationMethods publickey`, which doctor reports) by an account
//! whose password has expired (`chage -d 0`), through the account lines of
//! config/pam.d/sshd over Debian 12's common-account: pam_mfa.so's account
//! line runs and the agent refuses the plain key on a prod node. With that
//! line after `@include common-account` (as README once said), pam_unix's
//! `new_authtok_reqd=done` ends the stack first and sshd goes on to its
//! password change with no pam-mfa check: the same test shows that too.

use std::time::Duration;

use pam_mfa_e2e::agent::AgentConfig;
use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

use super::common::*;
use super::world::keys;

/// Debian 12's /etc/pam.d/common-account, as pam-auth-update writes it.
const DEBIAN_COMMON_ACCOUNT: &str =
    "account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\n\
account\trequisite\t\t\tpam_deny.so\n\
account\trequired\t\t\tpam_permit.so\n";

/// config/pam.d/sshd's account lines (comments left out), in its order.
fn shipped_account_lines() -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join("config/pam.d/sshd")).unwrap();
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| l.starts_with("account ") || l == "@include common-account")
        .collect()
}

/// An sshd stack with `account` as its account lines, each pam_mfa.so
/// `module` (the built module with its socket and timeout).
fn stack(module: &str, account: &[String]) -> String {
    let mut text = format!("auth required {module}\n");
    for l in account {
        text.push_str(&l.replace("pam_mfa.so", module));
        text.push('\n');
    }
    text.push_str("session required pam_permit.so\n");
    text
}

/// `ssh USER@host id -un` with the plain key: no TTY.
fn login(
    sshd: &Sshd,
    work: &WorkDir,
    user: &TestUser,
    key: &pam_mfa_e2e::keys::SshKey,
) -> SshOutcome {
    SshLogin::new(sshd.port, &user.name, key).run(work, "id -un")
}

#[test]
fn an_expired_password_with_publickey_only_meets_the_account_line() {
    require_root!();
    let shipped = shipped_account_lines();
    let mfa = shipped
        .iter()
        .position(|l| l.contains("pam_mfa.so"))
        .expect("config/pam.d/sshd's account line");
    let include = shipped
        .iter()
        .position(|l| l == "@include common-account")
        .expect("config/pam.d/sshd includes common-account");
    assert!(mfa < include, "{shipped:?}");
    let mut after = shipped.clone();
    let line = after.remove(mfa);
    after.push(line);

    let work = WorkDir::new("login-expired");
    let user = TestUser::create();
    let k = keys(&work, &[]);
    user.authorize_keys(&[k.plain.public_line.as_str()]);
    user.expire_password();
    // Session MFA on prod: the plain key alone is refused.
    let bundle = bundle(&user.name, "false", "true", &[]);
    let mut module = String::new();
    let host = MfaSshd::start_with(&work, AgentConfig::with_env("prod"), &bundle, |mut opts| {
        let first = opts.pam_stack.lines().next().unwrap_or_default();
        module = first.strip_prefix("auth required ").unwrap().to_string();
        opts.pam_stack = stack(&module, &shipped);
        opts.extra.push(format!("Match User {}", user.name));
        opts.extra.push("  AuthenticationMethods publickey".into());
        opts.pam_service_file("common-account", DEBIAN_COMMON_ACCOUNT)
    });
    let evidence = |out: &SshOutcome, from: usize| {
        format!(
            "{}\n--- sshd log\n{}\n{}",
            out.describe(),
            host.sshd.log_since(from),
            host.agent.evidence()
        )
    };

    // As shipped: the account line runs, and the agent refuses.
    let from = host.sshd.log_len();
    let out = login(&host.sshd, &work, &user, &k.plain);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out, from));
    assert!(
        !out.stderr().contains("Password change required"),
        "{}",
        evidence(&out, from)
    );
    let login_name = user.name.clone();
    let deny = host.agent.wait_audit(Duration::from_secs(5), |e| {
        field(e, "login") == login_name && field(e, "result") == "deny"
    });
    let deny = deny.unwrap_or_else(|| panic!("no deny\n{}", evidence(&out, from)));
    assert_eq!(field(&deny, "hook"), "account", "{deny}");
    let events = host.agent.audit_events();
    let decisions = decisions_for(&events, &user.name);
    assert!(
        decisions.iter().all(|e| field(e, "hook") != "auth"),
        "publickey only: no auth stack ran\n{}",
        evidence(&out, from)
    );

    // After common-account: the stack ends before pam_mfa.so.
    host.sshd.set_pam_stack(&stack(&module, &after));
    old_order_reaches_the_password_change(&host, &work, &user, &k.plain, decisions.len());
}

/// With the account line after `@include common-account`: sshd lets the key
/// in and asks for a new password (no TTY here, so it stops there), and the
/// agent decides nothing more than the `before` decisions it had.
fn old_order_reaches_the_password_change(
    host: &MfaSshd,
    work: &WorkDir,
    user: &TestUser,
    key: &pam_mfa_e2e::keys::SshKey,
    before: usize,
) {
    let from = host.sshd.log_len();
    let out = login(&host.sshd, work, user, key);
    let evidence = format!(
        "{}\n--- sshd log\n{}\n{}",
        out.describe(),
        host.sshd.log_since(from),
        host.agent.evidence()
    );
    assert!(
        out.stderr().contains("Password change required"),
        "{evidence}"
    );
    let events = host.agent.audit_events();
    assert_eq!(
        decisions_for(&events, &user.name).len(),
        before,
        "the account line should not have run\n{evidence}"
    );
}
