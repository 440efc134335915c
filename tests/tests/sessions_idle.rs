//! Teleport's `client_idle_timeout` through a real sshd and a real
//! terminal: a session of a user whose role sets it ends once its terminal
//! has had neither input nor output that long (the terminal's access and
//! modification times, kept by Linux to 8 seconds: the agent allows that
//! step), audited as `session_ended` with the reason; one typed into goes
//! on, and so does one that only prints, as Teleport counts traffic both
//! ways (lib/srv/monitor.go `trackingChannel`).

mod common;
// The sessions world, of which this scenario uses a part.
#[path = "sessions/world.rs"]
#[allow(dead_code)]
mod world;

use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::SshLogin;
use world::*;

const IDLE_ROLE: &str = "kind: role\nversion: v7\nmetadata:\n  name: idle-3s\nspec:\n  options:\n    client_idle_timeout: 3s\n";

/// The sessions world with the user's roles given a 3 s idle timeout, and
/// an ssh login of theirs on a forced terminal (`-tt`).
fn idle_world(label: &str) -> (World, SshLogin) {
    let w = start(label);
    let idle = bundle_with_roles(
        &w.user.name,
        &["access-dev", "access-prod", "idle-3s"],
        &w.sk,
    )
    .raw(IDLE_ROLE);
    w.write_bundle(&idle);
    w.wait_policy_loads(2, "the idle role");
    let mut login = SshLogin::new(w.sshd.port, &w.user.name, &w.sk);
    login.timeout = Duration::from_secs(60);
    login.extra_args = vec!["-tt".into()];
    (w, login)
}

#[test]
fn a_terminal_without_input_ends_past_the_roles_client_idle_timeout() {
    require_root!();
    let (w, login) = idle_world("sessions-idle");
    // A terminal (-tt) that nothing types into: `sleep` never reads it.
    let started = Instant::now();
    let out = login.run(&w.work, "sleep 50");
    let took = started.elapsed();
    eprintln!(
        "SESSIONS-FIGURE idle session ended after {} ms",
        took.as_millis()
    );
    assert!(!out.success(), "{}", out.describe());
    assert!(
        took >= Duration::from_secs(3 + 8) && took < Duration::from_secs(30),
        "ended after {took:?}\n{}\n{}",
        out.describe(),
        w.post_mortem()
    );
    let ended = wait_event(&w, "session_ended");
    assert!(field(&ended, "reason").starts_with("idle"), "{ended}");
    assert!(
        field(&ended, "reason").contains("client_idle_timeout"),
        "{ended}"
    );
}

#[test]
fn a_terminal_typed_into_goes_on_past_the_timeout() {
    require_root!();
    let (w, mut login) = idle_world("sessions-typed");
    // A line a second for 20 s into the terminal; the remote side reads 16
    // of them (about 16 s, five times the timeout) and exits 0.
    login.wrapper = vec![
        "sh".into(),
        "-c".into(),
        "(i=0; while [ $i -lt 20 ]; do echo x; sleep 1; i=$((i+1)); done) | \"$0\" \"$@\"".into(),
    ];
    let out = login.run(
        &w.work,
        "sh -c 'i=0; while read l; do i=$((i+1)); [ $i -ge 16 ] && exit 0; done; exit 3'",
    );
    assert!(out.success(), "{}\n{}", out.describe(), w.post_mortem());
}

#[test]
fn a_terminal_that_only_prints_goes_on_past_the_timeout() {
    require_root!();
    let (w, login) = idle_world("sessions-prints");
    // A line a second for 20 s out of the terminal (as `tail -f` or a build
    // prints), nothing typed: about 20 s, over six times the timeout.
    let out = login.run(
        &w.work,
        "i=0; while [ $i -lt 20 ]; do echo line; sleep 1; i=$((i+1)); done",
    );
    assert!(out.success(), "{}\n{}", out.describe(), w.post_mortem());
    let lines = out.finished.stdout.lines();
    assert_eq!(lines.filter(|l| l.trim_end() == "line").count(), 20);
}
