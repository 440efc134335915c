//! A policy file refused for who may write it is read again once that is
//! fixed, as the refusal asks (`chmod go-w`): `chmod` changes no content
//! and no mtime, only the mode and the ctime, and the agent's poll must see
//! it. (Before, the file stayed refused until its content changed or
//! someone ran `mfactl sync`: on a fresh host, every login was refused.)

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::Value;

fn status(agent: &Agent) -> Value {
    let out = agent.mfactl(&["status", "--json"]);
    assert!(out.success(), "{out:?}");
    serde_json::from_str(&out.stdout).expect("status --json")
}

fn last_error(agent: &Agent) -> String {
    status(agent)["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn set_mode(agent: &Agent, mode: u32) {
    std::fs::set_permissions(&agent.bundle_path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn chmod_go_w_on_a_refused_policy_file_is_picked_up_by_the_poll() {
    require_root!();
    let work = WorkDir::new("policy-file-rights");
    let user = TestUser::create();
    // poll_interval 1s (AgentConfig::with_env).
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod"),
        &bundle(&user.name, "false", "true", &[]),
    );
    assert_eq!(last_error(&agent), "", "{}", status(&agent));
    let revision = status(&agent)["policy_revision"].clone();

    // An admin with umask 002: the same bytes, group-writable.
    set_mode(&agent, 0o664);
    assert!(
        wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
            last_error(&agent).contains("writable by group or others")
        }),
        "a chmod g+w was not noticed: {}",
        status(&agent)
    );
    // Refused: the policy in force stays.
    assert_eq!(status(&agent)["policy_revision"], revision);

    // The fix the error names.
    set_mode(&agent, 0o644);
    assert!(
        wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
            last_error(&agent).is_empty()
        }),
        "chmod go-w was not picked up: {}",
        status(&agent)
    );
    assert_eq!(status(&agent)["policy_revision"], revision);
    let out = agent.mfactl(&["explain", "--login", &user.name, "--json"]);
    assert!(out.stdout.contains("\"mfa\": \"session\""), "{out:?}");
}
