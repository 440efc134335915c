//! agent.yaml reloads in a running agent: `mfactl reload` and SIGHUP put a
//! new node and labels in force (the process stays); a typo is refused with
//! file:line:column and a socket change by name, and the running
//! configuration stays. (tests/tests/packages_deb.rs does the same through
//! `systemctl reload mfa-agent` under systemd.)

mod common;

use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::Value;

fn status(agent: &Agent) -> Value {
    let out = agent.mfactl(&["status", "--json"]);
    assert!(out.success(), "{out:?}");
    serde_json::from_str(&out.stdout).expect("status --json")
}

/// agent.yaml as it is (labels are rendered `"env": "dev"`), with the
/// node's label `env` set to `env`.
fn relabelled(agent: &Agent, env: &str) -> String {
    let text = std::fs::read_to_string(&agent.config_path).unwrap();
    let from = text
        .lines()
        .find(|l| l.trim_start().starts_with("\"env\":"))
        .unwrap_or_else(|| panic!("no env label in:\n{text}"))
        .to_string();
    let indent = &from[..from.len() - from.trim_start().len()];
    text.replace(&from, &format!("{indent}\"env\": \"{env}\""))
}

#[test]
fn mfactl_reload_and_sighup_apply_agent_yaml_and_refuse_bad_files() {
    require_root!();
    let work = WorkDir::new("config-reload");
    let user = TestUser::create();
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("dev"),
        &bundle(&user.name, "false", "true", &[]),
    );
    let pid = agent.pid();
    assert_eq!(status(&agent)["labels"]["env"], "dev");
    let dev_mfa = agent.mfactl(&["explain", "--login", &user.name, "--json"]);
    assert!(dev_mfa.stdout.contains("\"mfa\": \"off\""), "{dev_mfa:?}");

    // mfactl reload: the prod label, so the prod role's MFA applies.
    std::fs::write(&agent.config_path, relabelled(&agent, "prod")).unwrap();
    let out = agent.mfactl(&["reload"]);
    assert!(out.success(), "{out:?}");
    assert!(out.stdout.contains("applied (changed: node)"), "{out:?}");
    assert_eq!(status(&agent)["labels"]["env"], "prod");
    let prod_mfa = agent.mfactl(&["explain", "--login", &user.name, "--json"]);
    assert!(
        prod_mfa.stdout.contains("\"mfa\": \"session\""),
        "{prod_mfa:?}"
    );

    // A typo: refused with its place; prod stays.
    let good = std::fs::read_to_string(&agent.config_path).unwrap();
    let bad = good.replacen("labels:", "labls:", 1);
    let line = bad.lines().position(|l| l.contains("labls:")).unwrap() + 1;
    std::fs::write(&agent.config_path, &bad).unwrap();
    let out = agent.mfactl(&["reload"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let place = format!("{}:{line}:", agent.config_path.display());
    assert!(
        out.stdout.contains(&place) && out.stdout.contains("the running configuration stays"),
        "{out:?}"
    );
    assert_eq!(status(&agent)["labels"]["env"], "prod");

    // A socket change cannot happen live: named, refused whole.
    let staging = good.replace("\"env\": \"prod\"", "\"env\": \"staging\"");
    assert_ne!(staging, good);
    let moved = staging.replace(
        &agent.socket.display().to_string(),
        &work.join("elsewhere.sock").display().to_string(),
    );
    std::fs::write(&agent.config_path, moved).unwrap();
    let out = agent.mfactl(&["reload"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("socket.path"), "{out:?}");
    assert_eq!(status(&agent)["labels"]["env"], "prod");

    // SIGHUP does the same as mfactl reload.
    std::fs::write(&agent.config_path, &staging).unwrap();
    let pid = pid.expect("the agent's pid");
    // SAFETY: kill(2) on the agent this test started.
    let sent = unsafe { libc::kill(pid, libc::SIGHUP) };
    assert_eq!(sent, 0, "SIGHUP: {}", std::io::Error::last_os_error());
    let started = Instant::now();
    while status(&agent)["labels"]["env"] != "staging" {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "SIGHUP did not apply agent.yaml:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(agent.pid(), Some(pid), "reloaded, not restarted");
    assert!(
        agent.audit_text().contains("config_rejected")
            && agent.audit_text().contains("config_reload"),
        "{}",
        agent.audit_text()
    );
}
