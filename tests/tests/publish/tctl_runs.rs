//! `mfactl publish --tctl`: the tctl runs (the resources with their
//! secrets, then the login states on their own), their arguments, and what
//! a failing or older tctl leaves behind.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::{run_with_timeout, Finished};

use super::world::*;

/// A tctl that prints the resources (cluster_networking_config last), then
/// the login states in a run of their own; PATH with it first.
fn good_tctl(s: &Setup) -> String {
    let networking = s.work.write(
        "networking.yaml",
        "---\nkind: cluster_networking_config\nversion: v2\nmetadata:\n  name: cluster-networking-config\nspec:\n  client_idle_timeout: 15m0s\n  keep_alive_interval: 5m0s\n",
        0o600,
    );
    fake_tctl(
        s,
        &format!(
            "if [ \"$2\" = user_login_state ]; then cat {}; else cat {} {}; fi",
            login_states_fixture().display(),
            s.input.display(),
            networking.display()
        ),
    )
}

/// `mfactl publish --tctl` with an identity file and an auth server, the
/// tctl found on `path`.
fn publish_with_identity(s: &Setup, path: &str) -> Finished {
    let _ = std::fs::remove_file(s.work.join("tctl-args"));
    let id = s.work.write("identity", "not a real identity\n", 0o600);
    let mut cmd = Command::new(bins::mfactl());
    cmd.env("PATH", path)
        .args(["publish", "--tctl", "--tctl-identity"])
        .arg(&id)
        .args([
            "--tctl-auth-server",
            "auth.example:3025",
            "--tctl-timeout",
            "20s",
            "--out",
        ])
        .arg(&s.out)
        .arg("--signing-key")
        .arg(&s.key);
    run_with_timeout(&mut cmd, Duration::from_secs(60))
}

#[test]
fn tctl_is_run_with_its_identity_for_the_resources_then_the_login_states() {
    let s = setup("publish-tctl");
    let f = publish_with_identity(&s, &good_tctl(&s));
    assert!(f.success(), "{}{}", f.stdout, f.stderr);
    let args = std::fs::read_to_string(s.work.join("tctl-args")).unwrap();
    let tail = format!(
        "-i {} --auth-server auth.example:3025",
        s.work.join("identity").display()
    );
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            format!("get role,cap,user,lock,cert_authority,cluster_networking_config --with-secrets --format=yaml {tail}"),
            format!("get user_login_state --format=yaml {tail}"),
        ]
    );
    let (_, bundle) = read_verified(&s.out, &printed_key(&f));
    let text = String::from_utf8(bundle).unwrap();
    assert!(
        text.contains(r#""kind":"user_login_state""#)
            && text.contains(r#""roles":["access","prod-access"]"#),
        "{text}"
    );
    assert!(!text.contains("original_roles"), "{text}");
    // The cluster-wide idle timeout reaches the agents, alone of its spec.
    assert!(
        text.contains(r#""spec":{"client_idle_timeout":"15m0s"}"#),
        "{text}"
    );
}

/// A failing tctl run, the resources' or the login states', says why and
/// leaves the published set as it was.
#[test]
fn a_failing_tctl_run_keeps_the_set() {
    let s = setup("publish-tctl-fails");
    let f = publish_with_identity(&s, &good_tctl(&s));
    assert!(f.success(), "{}{}", f.stdout, f.stderr);
    let m = read_verified(&s.out, &printed_key(&f)).0;
    let before = files_under(&s.out);
    let path = fake_tctl(
        &s,
        "echo 'ERROR: access denied to perform action \"read\" on \"user\"' >&2\nexit 1",
    );
    let f = publish_with_identity(&s, &path);
    assert!(!f.success());
    assert!(f.stderr.contains("access denied"), "{}", f.stderr);
    assert_eq!(files_under(&s.out), before);
    assert_eq!(read_verified(&s.out, &printed_key(&f)).0, m);
    let path = fake_tctl(
        &s,
        &format!(
            "if [ \"$2\" = user_login_state ]; then echo 'ERROR: access denied to perform action \"list\" on \"user_login_state\"' >&2; exit 1; fi; cat {}",
            s.input.display()
        ),
    );
    let f = publish_with_identity(&s, &path);
    assert!(!f.success());
    assert!(
        f.stderr
            .contains("must be allowed to list and read user_login_state"),
        "{}",
        f.stderr
    );
    assert_eq!(files_under(&s.out), before);
}

/// A tctl older than the user_login_state kind: published without login
/// states, with a warning that says what that means.
#[test]
fn a_tctl_that_does_not_know_login_states_still_publishes() {
    let s = setup("publish-old-tctl");
    let path = fake_tctl(
        &s,
        &format!(
            "if [ \"$2\" = user_login_state ]; then echo 'ERROR: unsupported resource: \"user_login_state\" - resources should be expressed as type/name' >&2; exit 1; fi; cat {}",
            s.input.display()
        ),
    );
    let mut cmd = Command::new(bins::mfactl());
    cmd.env("PATH", &path)
        .args(["publish", "--tctl", "--out"])
        .arg(&s.out)
        .arg("--signing-key")
        .arg(&s.key);
    let f = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert!(f.success(), "{}{}", f.stdout, f.stderr);
    assert!(
        f.stderr.contains("does not know user_login_state") && f.stderr.contains("none published"),
        "{}",
        f.stderr
    );
    let (_, bundle) = read_verified(&s.out, &printed_key(&f));
    assert!(!String::from_utf8(bundle)
        .unwrap()
        .contains("user_login_state"));
}
