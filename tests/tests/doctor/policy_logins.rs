//! The policy's decisions for root and the NOPASSWD accounts, from the
//! running agent, or read from agent.yaml's source when no agent answers:
//! root over SSH with `mfa: off` (the example policy) is a warning; under a
//! cap that requires MFA of every session nobody can tap for root or for a
//! cloud image's `debian`, an error each; nor, under the example policy
//! too, for jerry's NOPASSWD sudo on prod (no device of his is registered).

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};

use super::*;

/// agent.yaml for prod3 [env=prod] reading `source`, with config/agent.yaml's
/// sshd section (so that only the policy speaks).
pub(super) fn agent_yaml(work: &WorkDir, source: &str) -> std::path::PathBuf {
    work.write(
        "agent.yaml",
        &format!(
            "node:\n  name: prod3\n  labels: {{ env: prod }}\ncluster:\n  source: {source}\nsshd:\n  authorized_keys_files: [\".ssh/authorized_keys\", \".ssh/authorized_keys2\"]\n  pubkey_auth_options: [touch-required]\n"
        ),
        0o644,
    )
}

pub(super) fn policy_findings(found: &[Value]) -> Vec<&Value> {
    found
        .iter()
        .filter(|f| f["id"].as_str().unwrap_or("").starts_with("policy."))
        .collect()
}

#[test]
fn root_with_mfa_off_over_ssh_is_a_warning_until_permit_root_login_no() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-root-off");
    let config = agent_yaml(&work, "builtin:example");
    let host = Host {
        config: Some(&config),
        ..Host::default()
    };
    let (_, found) = doctor_on(&work, &shipped_drop_in(), &host);
    let policy = policy_findings(&found);
    assert_eq!(policy.len(), 1, "{found:#?}");
    assert_eq!(policy[0]["id"], "policy.root_ssh_mfa_off");
    assert_eq!(policy[0]["severity"], "warning");
    let no_root = format!(
        "PermitRootLogin no\n{}",
        without_line(&shipped_drop_in(), "PermitRootLogin")
    );
    let (_, found) = doctor_on(&work, &no_root, &host);
    assert!(policy_findings(&found).is_empty(), "{found:#?}");
}

#[test]
fn nobody_can_tap_for_root_or_a_nopasswd_account_is_an_error() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    assert!(Path::new("/etc/sudoers").exists(), "sudo is needed");
    let work = WorkDir::new("doctor-nobody");
    let example = std::fs::read_to_string(workspace_root().join("config/examples/bundle.yaml"))
        .expect("the example bundle");
    let cap = "  require_session_mfa: false\n  second_factor";
    assert!(example.contains(cap));
    let bundle = work.write(
        "bundle.yaml",
        &example.replace(cap, "  require_session_mfa: true\n  second_factor"),
        0o644,
    );
    let config = agent_yaml(&work, &format!("file://{}", bundle.display()));
    // A cloud image's sudoers, in doctor's own mount namespace.
    let sudoers = work.write("sudoers", "root ALL=(ALL:ALL) ALL\n", 0o440);
    let sudoers_d = work.subdir("sudoers.d", 0o755);
    work.write(
        "sudoers.d/90-cloud-init-users",
        "debian ALL=(ALL) NOPASSWD:ALL\n",
        0o440,
    );
    // The reviewer's case: jerry is one cluster user, needing a tap on
    // prod, with no registered device.
    work.write(
        "sudoers.d/91-jerry",
        "jerry ALL=(ALL) NOPASSWD: ALL\n",
        0o440,
    );
    let setup = format!(
        "mount --bind {} /etc/sudoers && mount --bind {} /etc/sudoers.d &&",
        sudoers.display(),
        sudoers_d.display()
    );
    let host = Host {
        config: Some(&config),
        setup: &setup,
        ..Host::default()
    };
    let (code, found) = doctor_on(&work, &shipped_drop_in(), &host);
    assert_eq!(code, Some(2));
    let whats: Vec<&str> = policy_findings(&found)
        .iter()
        .map(|f| {
            assert_eq!(
                (&f["id"], &f["severity"]),
                (&"policy.nobody_can_tap".into(), &"error".into()),
                "{f}"
            );
            f["what"].as_str().unwrap()
        })
        .collect();
    assert_eq!(whats.len(), 3, "{found:#?}");
    assert!(
        whats[0].starts_with("login root (ssh class, service sshd)"),
        "{}",
        whats[0]
    );
    assert!(
        whats[1].starts_with("login debian (admin class, service sudo)")
            && whats[1].contains("90-cloud-init-users:1"),
        "{}",
        whats[1]
    );
    assert!(
        whats[2].starts_with("login jerry (admin class, service sudo)")
            && whats[2].contains("91-jerry:1"),
        "{}",
        whats[2]
    );
    // The example policy as shipped (`mfactl example-policy`): root and
    // debian need no MFA, jerry's sudo on prod still needs his tap.
    let config = agent_yaml(&work, "builtin:example");
    let host = Host {
        config: Some(&config),
        ..host
    };
    let (code, found) = doctor_on(&work, &shipped_drop_in(), &host);
    assert_eq!(code, Some(2));
    let tap: Vec<&Value> = policy_findings(&found)
        .into_iter()
        .filter(|f| f["id"] == "policy.nobody_can_tap")
        .collect();
    assert_eq!(tap.len(), 1, "{found:#?}");
    let what = tap[0]["what"].as_str().unwrap();
    assert!(
        what.starts_with("login jerry (admin class, service sudo)")
            && tap[0]["severity"] == "error",
        "{}",
        tap[0]
    );
    assert!(
        tap[0]["why"]
            .as_str()
            .unwrap()
            .contains("jerry has no registered device"),
        "{}",
        tap[0]
    );
}

/// The running agent decides: its policy in force, as `mfactl explain`.
#[test]
fn the_running_agents_policy_decides_for_root() {
    pam_mfa_e2e::require_root!();
    assert!(Path::new(bins::SSHD).exists(), "sshd is needed");
    let work = WorkDir::new("doctor-agent");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod"),
        &Bundle::new().cap("true"),
    );
    let host = Host {
        config: Some(&agent.config_path),
        socket: Some(&agent.socket),
        ..Host::default()
    };
    let (_, found) = doctor_on(&work, &shipped_drop_in(), &host);
    let policy = policy_findings(&found);
    assert_eq!(policy.len(), 1, "{found:#?}");
    let what = policy[0]["what"].as_str().unwrap();
    assert!(
        what.starts_with("login root (ssh class, service sshd)")
            && what.contains("decided by the policy in force (the running agent)"),
        "{what}"
    );
    assert!(
        !ids(&found).contains(&"agent.not_running".to_string()),
        "{found:#?}"
    );
}
