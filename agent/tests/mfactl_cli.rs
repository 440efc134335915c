//! mfactl as a person runs it: explain, check, status, exit codes, messages.

mod common;

use std::process::{Command, Output};

use common::*;

fn mfactl(args: &[&str]) -> Output {
    Command::new(mfactl_bin()).args(args).output().unwrap()
}

fn seed_file(dir: &TempDir) -> String {
    let p = dir.path().join("bundle.yaml");
    std::fs::write(&p, SEED).unwrap();
    p.display().to_string()
}

fn explain_json(args: &[&str]) -> serde_json::Value {
    let out = mfactl(args);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn explain_offline_seed_example() {
    let dir = TempDir::new("explain");
    let b = seed_file(&dir);
    let dev = explain_json(&[
        "explain", "--policy", &b, "--node", "dev1", "--label", "env=dev", "--login", "jerry",
        "--json",
    ]);
    assert_eq!(dev["access"], "allow");
    assert_eq!(dev["mfa"], "off");
    assert_eq!(dev["user"], "jerry");
    assert_eq!(dev["roles"], serde_json::json!(["access-dev"]));
    assert_eq!(dev["locked"], false);
    assert!(dev["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("access-dev")));

    let prod = explain_json(&[
        "explain", "--policy", &b, "--node", "prod3", "--label", "env=prod", "--login", "jerry",
        "--json",
    ]);
    assert_eq!(prod["access"], "allow");
    assert_eq!(prod["mfa"], "session");
    assert_eq!(prod["roles"], serde_json::json!(["access-prod"]));

    // Denied logins still exit 0: the decision is the output.
    let root = explain_json(&[
        "explain", "--policy", &b, "--node", "prod3", "--label", "env=prod", "--user", "jerry",
        "--login", "root", "--json",
    ]);
    assert_eq!(root["access"], "deny");
    assert_eq!(root["roles"], serde_json::json!([]));

    // sudo follows the admin rules.
    let sudo = explain_json(&[
        "explain",
        "--policy",
        &b,
        "--node",
        "prod3",
        "--label",
        "env=prod",
        "--login",
        "jerry",
        "--service",
        "sudo",
        "--json",
    ]);
    assert_eq!(sudo["class"], "admin");
    assert_eq!(sudo["mfa"], "session");

    // The human form names the decision.
    let out = mfactl(&[
        "explain", "--policy", &b, "--node", "prod3", "--label", "env=prod", "--login", "jerry",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mfa:          session"), "{text}");
}

#[test]
fn bad_input_names_file_line_and_column() {
    let dir = TempDir::new("badinput");
    let p = dir.path().join("bad.yaml");
    std::fs::write(&p, format!("{SEED}---\nkind: role\nversion: v7\nmetadata:\n  name: broken\nspec:\n  options:\n    require_session_mfa: maybe\n")).unwrap();
    let line = SEED.lines().count() + 8;
    let out = mfactl(&[
        "explain",
        "--policy",
        p.to_str().unwrap(),
        "--node",
        "n",
        "--login",
        "jerry",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("bad.yaml:{line}:")),
        "expected line {line}: {err}"
    );
    assert!(err.contains("maybe"), "{err}");

    let out = mfactl(&["check", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("bad.yaml:{line}:")));

    let out = mfactl(&[
        "explain",
        "--policy",
        "/nonexistent/b.yaml",
        "--node",
        "n",
        "--login",
        "j",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = mfactl(&[
        "explain",
        "--policy",
        p.to_str().unwrap(),
        "--node",
        "n",
        "--label",
        "novalue",
        "--login",
        "j",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = mfactl(&["explain", "--policy", p.to_str().unwrap(), "--node", "n"]);
    assert_eq!(out.status.code(), Some(2), "--login is required");
}

#[test]
fn check_accepts_bundles_and_agent_configs() {
    let dir = TempDir::new("check");
    let b = seed_file(&dir);
    let out = mfactl(&["check", &b]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 roles, 1 users"));

    let cfg = dir.path().join("agent.yaml");
    std::fs::write(&cfg, "node:\n  name: prod3\n  labels: {env: prod}\ncluster:\n  source: file:///etc/pam-mfa/policy.d\n").unwrap();
    let out = mfactl(&["check", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid agent configuration"));

    std::fs::write(&cfg, "node:\n  name: prod3\n  lables: {env: prod}\n").unwrap();
    let out = mfactl(&["check", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("agent.yaml:3:"),
        "{out:?}"
    );
}

/// socket.path in a sticky world-writable directory (/tmp): anyone may
/// plant the session journal's name (a FIFO hung every session) or a file
/// at the socket's name. `mfactl check` and `mfa-agent --check` refuse the
/// configuration, naming the directory and what to use instead.
#[test]
fn a_socket_path_in_a_sticky_directory_is_refused_by_both_checks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("check-sticky");
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let b = seed_file(&dir);
    let cfg = dir.path().join("agent.yaml");
    let yaml = |socket: &std::path::Path| {
        format!(
            "node:\n  name: prod3\ncluster:\n  source: file://{b}\nsocket:\n  path: {}\n",
            socket.display()
        )
    };
    std::fs::write(&cfg, yaml(&shared.join("agent.sock"))).unwrap();
    let out = mfactl(&["check", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        err.contains(&format!(
            "{} is writable by group or others",
            shared.display()
        )),
        "{err}"
    );
    assert!(err.contains("/run/pam-mfa"), "{err}");
    let out = Command::new(agent_bin())
        .args(["--check", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(err.contains("sticky or not"), "{err}");
    // Its own root-made 0755 directory below the sticky one is fine.
    let own = shared.join("run");
    std::fs::create_dir(&own).unwrap();
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&cfg, yaml(&own.join("agent.sock"))).unwrap();
    let out = mfactl(&["check", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn shipped_examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for f in ["config/agent.yaml", "config/examples/bundle.yaml"] {
        let out = mfactl(&["check", root.join(f).to_str().unwrap()]);
        assert!(out.status.success(), "{f}: {out:?}");
    }
    let out = mfactl(&["example-policy"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), SEED);
}

#[test]
fn explain_and_status_ask_the_running_agent() {
    let a = RunningAgent::start("cli", "prod3", "{ env: prod }", SEED, "");
    let sock = a.socket.to_str().unwrap().to_string();
    // This agent runs as the test's own uid (root's, when run as root).
    let uid = rustix::process::geteuid().as_raw().to_string();
    let mfactl = |args: &[&str]| {
        let mut all = vec!["--agent-uid", uid.as_str()];
        all.extend_from_slice(args);
        mfactl(&all)
    };
    let explain_json = |args: &[&str]| {
        let out = mfactl(args);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let e = explain_json(&["--socket", &sock, "explain", "--login", "jerry", "--json"]);
    assert_eq!(e["node"], "prod3");
    assert_eq!(e["mfa"], "session");
    let out = mfactl(&[
        "--socket", &sock, "explain", "--login", "jerry", "--node", "x",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--node without --policy is refused"
    );
    let out = mfactl(&["--socket", &sock, "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("policy revision:") && text.contains("2 roles, 1 users"),
        "{text}"
    );
    assert!(
        text.contains(&format!("file://{}", a.policy.display())),
        "{text}"
    );
    let out = mfactl(&["--socket", &sock, "reload"]);
    assert!(out.status.success());
    let out = mfactl(&["--socket", "/nonexistent/agent.sock", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is it running"));
}

/// mfactl trusts a socket only when it is the agent's (as pam_mfa.so):
/// owned by the agent's uid, root unless `--agent-uid` says otherwise. An
/// agent-like socket of another uid serves sshd no keys.
#[test]
fn a_socket_of_another_uid_than_the_agents_is_refused() {
    let a = RunningAgent::start("cli-uid", "prod3", "{ env: prod }", SEED, "");
    let sock = a.socket.to_str().unwrap();
    let other = (rustix::process::geteuid().as_raw() + 1).to_string();
    for args in [
        vec!["--agent-uid", &other, "--socket", sock, "status"],
        vec![
            "--socket",
            sock,
            "--agent-uid",
            &other,
            "authorized-keys",
            "jerry",
        ],
    ] {
        let out = mfactl(&args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "not by the agent's uid {other}: refusing to use it"
            )),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
    }
}
