//! mfa-agent as a process: socket protocol, reloads, refusing bad policy,
//! status, peer rules, audit.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use pam_mfa_protocol::{ExplainQuery, PamContext, PamHook, RequestBody, ResponseBody};

fn begin(service: &str, user: &str) -> RequestBody {
    RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: service.into(),
            user: user.into(),
            rhost: Some("192.0.2.7".into()),
            ..Default::default()
        },
    }
}

fn revision(a: &RunningAgent) -> String {
    match a.ask(RequestBody::Status) {
        ResponseBody::Status(s) => s.policy_revision,
        other => panic!("{other:?}"),
    }
}

#[test]
fn decides_seed_logins_and_audits_each() {
    let dev = RunningAgent::start("seed-dev", "dev1", "{ env: dev }", SEED, "");
    let prod = RunningAgent::start("seed-prod", "prod3", "{ env: prod }", SEED, "");
    assert_eq!(
        dev.ask(begin("sshd", "jerry")),
        ResponseBody::Allow { message: None }
    );
    match prod.ask(begin("sshd", "jerry")) {
        ResponseBody::Deny { message, .. } => {
            assert!(message.contains("requires MFA (session)"), "{message}");
            assert!(message.contains("security key"), "{message}");
        }
        other => panic!("prod without a key must be denied: {other:?}"),
    }
    match prod.ask(begin("sshd", "root")) {
        ResponseBody::Allow { .. } => {}
        other => panic!("root is not a cluster user, cap is off: {other:?}"),
    }
    let lines = prod.audit_lines();
    let decisions: Vec<_> = lines.iter().filter(|l| l["event"] == "decision").collect();
    assert_eq!(decisions.len(), 2, "{lines:?}");
    assert_eq!(decisions[0]["result"], "deny");
    assert_eq!(decisions[0]["login"], "jerry");
    assert_eq!(decisions[0]["user"], "jerry");
    assert_eq!(decisions[0]["requirement"], "session");
    assert_eq!(decisions[0]["node"], "prod3");
    assert_eq!(decisions[0]["rhost"], "192.0.2.7");
    assert!(!decisions[0]["policy_revision"].as_str().unwrap().is_empty());
    assert_eq!(decisions[1]["result"], "allow");
    let dev_lines = dev.audit_lines();
    assert!(
        dev_lines.iter().any(|l| l["event"] == "policy_load"),
        "{dev_lines:?}"
    );
}

#[test]
fn reloads_on_change_and_keeps_the_last_good_policy() {
    let a = RunningAgent::start("reload", "dev1", "{ env: dev }", SEED, "");
    let first = revision(&a);
    assert_eq!(
        a.ask(begin("sshd", "jerry")),
        ResponseBody::Allow { message: None }
    );

    // A change on disk is picked up without a signal: cap now requires MFA.
    let strict = SEED.replace("require_session_mfa: false", "require_session_mfa: true");
    assert_ne!(strict, SEED, "the seed bundle must have a cap to flip");
    std::fs::write(&a.policy, &strict).unwrap();
    wait_until(
        Duration::from_secs(10),
        || revision(&a) != first,
        "reload after change",
    );
    assert!(matches!(
        a.ask(begin("sshd", "jerry")),
        ResponseBody::Deny { .. }
    ));
    let good = revision(&a);

    // Garbage is refused: same revision, same decisions, error reported.
    std::fs::write(
        &a.policy,
        "kind: role\nversion: v7\nmetadata: {name: x}\nspec: [\n",
    )
    .unwrap();
    wait_until(
        Duration::from_secs(10),
        || matches!(a.ask(RequestBody::Status), ResponseBody::Status(s) if s.last_error.is_some()),
        "the refused policy to be reported",
    );
    let ResponseBody::Status(s) = a.ask(RequestBody::Status) else {
        panic!()
    };
    assert_eq!(s.policy_revision, good);
    let err = s.last_error.unwrap();
    assert!(
        err.contains("policy.yaml:4:"),
        "error names file and line: {err}"
    );
    assert!(matches!(
        a.ask(begin("sshd", "jerry")),
        ResponseBody::Deny { .. }
    ));
    assert!(a
        .audit_lines()
        .iter()
        .any(|l| l["event"] == "policy_rejected"));

    // A bad require_session_mfa value is refused as well.
    std::fs::write(
        &a.policy,
        SEED.replace(
            "require_session_mfa: false",
            "require_session_mfa: sometimes",
        ),
    )
    .unwrap();
    a.signal(1);
    wait_until(
        Duration::from_secs(10),
        || matches!(a.ask(RequestBody::Status), ResponseBody::Status(s) if s.last_error.as_deref().is_some_and(|e| e.contains("sometimes"))),
        "the bad value to be reported",
    );
    assert_eq!(revision(&a), good);

    // SIGHUP reloads the good file again; the error clears.
    std::fs::write(&a.policy, SEED).unwrap();
    a.signal(1);
    wait_until(
        Duration::from_secs(10),
        || revision(&a) == first,
        "reload on SIGHUP",
    );
    let ResponseBody::Status(s) = a.ask(RequestBody::Status) else {
        panic!()
    };
    assert_eq!(s.last_error, None);
    assert_eq!(s.counts.roles, 2);
    assert_eq!(s.counts.users, 1);
}

#[test]
fn starts_without_policy_and_fails_closed() {
    let a = RunningAgent::start(
        "nopolicy",
        "dev1",
        "{ env: dev }",
        "kind: role\nspec: [\n",
        "",
    );
    match a.ask(begin("sshd", "jerry")) {
        ResponseBody::Deny { message, .. } => {
            assert!(message.contains("no MFA policy"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let b = RunningAgent::start(
        "nopolicy-open",
        "dev1",
        "{ env: dev }",
        "kind: role\nspec: [\n",
        "fail_mode: open\n",
    );
    assert!(matches!(
        b.ask(begin("sshd", "jerry")),
        ResponseBody::Unavailable { .. }
    ));
    let lines = a.audit_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "decision" && l["result"] == "deny"),
        "{lines:?}"
    );
}

#[test]
fn garbage_frames_do_not_crash_the_agent() {
    use std::io::{Read, Write};
    let a = RunningAgent::start("garbage", "dev1", "{ env: dev }", SEED, "");
    for junk in [
        b"\xff\xff\xff\xff".to_vec(),
        [&4u32.to_be_bytes()[..], b"{]]]"].concat(),
        [&17u32.to_be_bytes()[..], br#"{"v":9,"type":"x"}"#].concat(),
        b"\x00\x00".to_vec(),
    ] {
        let mut s = std::os::unix::net::UnixStream::connect(&a.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&junk).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
    }
    assert_eq!(
        a.ask(begin("sshd", "jerry")),
        ResponseBody::Allow { message: None }
    );
    let ResponseBody::Status(s) = a.ask(RequestBody::Status) else {
        panic!()
    };
    assert!(s.decisions.errors >= 3, "{s:?}");
}

#[test]
fn non_root_peers_are_limited() {
    if !is_root() {
        eprintln!("SKIPPED: needs root to run mfactl as another user");
        return;
    }
    let a = RunningAgent::start("peers", "prod3", "{ env: prod }", SEED, "");
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                mfactl_bin(),
                "--socket",
            ])
            .arg(&a.socket)
            .args(args)
            .output()
            .unwrap()
    };
    // nobody is the keys user: keys yes, anything else no.
    let keys = as_nobody(&["authorized-keys", "jerry"]);
    assert!(keys.status.success(), "{keys:?}");
    let explain = as_nobody(&["explain", "--login", "jerry"]);
    assert!(!explain.status.success());
    assert!(
        String::from_utf8_lossy(&explain.stderr).contains("keys"),
        "{explain:?}"
    );
    let reload = as_nobody(&["reload"]);
    assert!(!reload.status.success());
    // Root may explain anyone's login.
    match a.ask(RequestBody::Explain(ExplainQuery {
        login: "jerry".into(),
        ..Default::default()
    })) {
        ResponseBody::Explanation(e) => {
            assert_eq!(e.mfa, "session");
            assert_eq!(e.node, "prod3");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn authorized_keys_serves_registered_keys_of_allowed_users() {
    const SK: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
    let device = format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: jerry-key}}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: \"{SK} jerry@laptop\"\n"
    );
    let pin = SEED.replace(
        "require_session_mfa: true",
        "require_session_mfa: hardware_key_pin",
    );
    assert_ne!(pin, SEED);
    let prod = RunningAgent::start(
        "keys-prod",
        "prod3",
        "{ env: prod }",
        &format!("{SEED}{device}"),
        "",
    );
    let pin_prod = RunningAgent::start(
        "keys-pin",
        "prod3",
        "{ env: prod }",
        &format!("{pin}{device}"),
        "",
    );
    let ResponseBody::Keys { lines } = prod.ask(RequestBody::AuthorizedKeys {
        login: "jerry".into(),
    }) else {
        panic!()
    };
    assert_eq!(lines, vec![format!("{SK} pam-mfa:jerry/jerry-key")]);
    let ResponseBody::Keys { lines } = pin_prod.ask(RequestBody::AuthorizedKeys {
        login: "jerry".into(),
    }) else {
        panic!()
    };
    assert_eq!(
        lines,
        vec![format!("verify-required {SK} pam-mfa:jerry/jerry-key")]
    );
    // No role lets jerry in as root: no keys for root.
    let ResponseBody::Keys { lines } = prod.ask(RequestBody::AuthorizedKeys {
        login: "root".into(),
    }) else {
        panic!()
    };
    assert!(lines.is_empty());
}
