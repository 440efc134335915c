//! A cluster user whose user resource leaves the policy (Teleport deleted
//! it: an SSO session's end, an offboarding) through a real reload of a
//! running agent: their login, which a later bundle no longer maps to
//! anyone, is denied as the deleted user's instead of passing with the
//! cluster's requirement alone; `mfactl status` lists them; a restart keeps
//! them; `mfactl forget-user NAME` forgets them, as README says.

mod common;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::Value;

/// The scenario roles and cap; with `sso_user`, the cluster user
/// `sso_user` whose traits give them `login`.
fn policy(sso_user: Option<&str>, login: &str) -> Bundle {
    let b = Bundle::new().scenario_roles("true").cap("false");
    match sso_user {
        Some(name) => b.user(name, &["access-dev", "access-prod"], &[login]),
        None => b,
    }
}

fn status(agent: &Agent) -> Value {
    let out = agent.mfactl(&["status", "--json"]);
    assert!(out.success(), "{out:?}");
    serde_json::from_str(&out.stdout).expect("status --json")
}

fn explain(agent: &Agent, login: &str) -> Value {
    let out = agent.mfactl(&["explain", "--login", login, "--json"]);
    assert!(out.success(), "{out:?}");
    serde_json::from_str(&out.stdout).expect("explain --json")
}

#[test]
fn a_deleted_users_login_is_denied_after_a_reload_and_a_restart_until_forgotten() {
    require_root!();
    let work = WorkDir::new("vanished-users");
    let user = TestUser::create();
    let sso_user = format!("{}@example.com", user.name);
    let service = unique_name("sudo-mfat");
    let config = AgentConfig::with_env("dev").service(&service, "admin");
    let mut agent = Agent::start(&work, &config, &policy(Some(&sso_user), &user.name));
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(&agent.socket, "");
    let sudo = PamStack::new(
        &work,
        &service,
        &format!(
            "auth required {m} {args}\naccount required {m} {args}\n",
            m = module.display()
        ),
    );
    let run = || {
        let mut r = HarnessRun::new(&user.name, "auth+account");
        r.ruser = Some(user.name.clone());
        r.tty = Some("/dev/pts/7".into());
        sudo.run(&r)
    };

    // The live user: the dev role allows them without MFA.
    let out = run();
    assert_eq!(out.exit_code(), Some(0), "{}", out.describe());

    // Teleport deleted them; the next bundle no longer holds them.
    agent.update_bundle(&policy(None, &user.name));
    let out = run();
    assert_eq!(
        out.exit_code(),
        Some(1),
        "{}\n{}",
        out.describe(),
        agent.evidence()
    );
    let e = explain(&agent, &user.name);
    assert_eq!(e["access"], "deny", "{e}");
    assert_eq!(e["user"], sso_user.as_str(), "{e}");
    let why = e["reasons"][0].as_str().unwrap_or_default();
    assert!(
        why.contains("no longer in the bundle") && why.contains("deleted"),
        "{e}"
    );
    let s = status(&agent);
    assert_eq!(s["counts"]["vanished_users"], 1, "{s}");
    assert_eq!(s["vanished_users"][0]["name"], sso_user.as_str(), "{s}");
    assert!(
        agent.audit_text().contains("users_vanished"),
        "{}",
        agent.audit_text()
    );
    let text = agent.mfactl(&["status"]);
    assert!(
        text.stdout.contains("vanished users:  1") && text.stdout.contains(&sso_user),
        "{text:?}"
    );

    // A restart remembers them.
    agent.stop();
    agent.spawn();
    assert_eq!(explain(&agent, &user.name)["access"], "deny");

    // README: `mfactl forget-user NAME`.
    let out = agent.mfactl(&["forget-user", &sso_user]);
    assert!(out.success(), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("forgot vanished user {sso_user}")),
        "{out:?}"
    );
    let out = run();
    assert_eq!(out.exit_code(), Some(0), "{}", out.describe());
    assert_eq!(status(&agent)["counts"]["vanished_users"], 0);
    let again = agent.mfactl(&["forget-user", &sso_user]);
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains("not a vanished user"), "{again:?}");
}
