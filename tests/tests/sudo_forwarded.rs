//! sudo inside an SSH session on a prod node, with real sshd, ssh and sudo:
//! the agent asks the person's forwarded ssh-agent to sign a challenge with
//! the registered security key, and falls back to the `MFA challenge` prompt
//! (answerable with `mfactl tap`) when there is no usable forwarded agent.
//!
//! sudo runs in sshd's private mount namespace, with its own PAM service
//! (`sudo-mfat<random>`, a file in sshd's private `/etc/pam.d`) chosen by a
//! private sudoers bound over `/etc/sudoers` there; the host's files are
//! never touched. The SSH login itself uses the registered sk key, which
//! satisfies the prod node's session MFA for the login.

mod common;
#[path = "sudo_forwarded/world.rs"]
mod world;

use std::process::Command;
use std::time::Duration;

use common::*;
use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::run_with_timeout;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use world::*;

/// sudo in a session whose client forwards an ssh-agent holding the
/// registered key: no prompt, the agent's signature is the tap.
fn forwarded_registered_key_lets_sudo_through(label: &str, keep_auth_sock: bool) {
    let w = sudo_world(label, keep_auth_sock);
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.registered, None);
    let from = w.sshd.log_len();
    let out = w.ssh(Some(&ssh_agent), SUDO_NO_INPUT);
    let what = out.describe();
    let d = w.assert_let_through_by_the_forwarded_key(&out, from);
    assert!(
        remote_auth_sock(out.stdout()).starts_with("/tmp/ssh-"),
        "the session has a forwarded agent:\n{}",
        w.evidence(&what, from)
    );
    assert!(
        !out.stderr().contains(CHALLENGE_MARK),
        "no fallback prompt when the forwarded agent signs:\n{}",
        w.evidence(&what, from)
    );
    // The cue naming the key, shown despite sudo's PAM_SILENT, once. (That
    // it comes before the signature is asked for is the in-process tests':
    // without a terminal sudo holds PAM's info messages in its buffered
    // standard output until it exits.)
    let cue = forwarded_cue(&w);
    assert_eq!(
        out.stdout().lines().filter(|l| l.trim() == cue).count(),
        1,
        "the cue once:\n{}",
        w.evidence(&what, from)
    );
    assert_eq!(field(&d, "login"), w.user.name, "{d}");
    assert_eq!(field(&d, "user"), w.user.name, "{d}");
    assert_eq!(field(&d, "node"), "e2e-prod", "{d}");
    assert_eq!(field(&d, "requirement"), "session", "{d}");
    assert!(
        w.sudo_events().iter().all(|e| e["result"] != "deny"),
        "{}",
        w.evidence(&what, from)
    );
}

/// The product's promise: pam_mfa finds `SSH_AUTH_SOCK` in sudo's own
/// environment, so sudoers needs no `env_keep` for it.
#[test]
fn forwarded_agent_with_the_registered_key_lets_sudo_through() {
    require_root!();
    forwarded_registered_key_lets_sudo_through("sudo-fwd-ok", false);
}

/// The same with `Defaults env_keep += SSH_AUTH_SOCK` in sudoers.
#[test]
fn forwarded_agent_with_the_registered_key_and_env_keep_lets_sudo_through() {
    require_root!();
    forwarded_registered_key_lets_sudo_through("sudo-fwd-keep", true);
}

#[test]
fn forwarded_agent_without_a_registered_key_falls_back_to_the_prompt() {
    require_root!();
    // env_keep: this case is about the agent's answer to an ssh-agent that
    // holds the wrong key, not about finding the socket (see the first test).
    let w = sudo_world("sudo-fwd-stranger", true);
    // The client's agent holds only a key registered to nobody; the login
    // itself uses the registered key's file.
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.stranger, None);
    let from = w.sshd.log_len();
    let out = w.ssh(Some(&ssh_agent), SUDO_NO_INPUT);
    let what = out.describe();
    assert!(
        remote_auth_sock(out.stdout()).starts_with("/tmp/ssh-"),
        "the session has a forwarded agent:\n{}",
        w.evidence(&what, from)
    );
    let d = w.assert_refused_at_the_prompt(&out, from);
    assert!(
        !out.stdout().contains("through your forwarded ssh-agent"),
        "no cue when the forwarded agent holds no registered key:\n{}",
        w.evidence(&what, from)
    );
    let reason = field(&d, "reason");
    assert!(
        reason.contains("forwarded ssh-agent: it holds no registered security key"),
        "{d}"
    );
    assert!(
        w.sudo_events()
            .iter()
            .all(|e| !field(e, "evidence").starts_with("forwarded_agent")),
        "{}",
        w.evidence(&what, from)
    );
}

#[test]
fn no_forwarded_agent_prompts_and_nothing_answers() {
    require_root!();
    let w = sudo_world("sudo-nofwd", false);
    let from = w.sshd.log_len();
    let out = w.ssh(None, SUDO_NO_INPUT);
    let what = out.describe();
    assert_eq!(
        remote_auth_sock(out.stdout()),
        "",
        "no agent without -A:\n{}",
        w.evidence(&what, from)
    );
    let d = w.assert_refused_at_the_prompt(&out, from);
    assert!(
        !field(&d, "reason").contains("forwarded ssh-agent"),
        "no forwarded agent was tried: {d}"
    );
    // Nothing answered: the module cancelled, or the empty answer was refused.
    let events = w.sudo_events();
    assert!(
        field(&d, "reason").contains("cancelled")
            || events
                .iter()
                .any(|e| e["event"] == "answer_refused" && e["result"] == "deny"),
        "{}",
        w.evidence(&what, from)
    );
}

#[test]
fn the_fallback_prompt_is_answered_with_mfactl_tap() {
    require_root!();
    let w = sudo_world("sudo-tap", false);
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.registered, None);
    let from = w.sshd.log_len();
    let mut run = Interactive::start(&w, SUDO_FROM_CHANNEL);
    let challenge = run.wait_challenge(Duration::from_secs(20));
    let Some(challenge) = challenge else {
        let what = run.describe();
        panic!("no challenge prompt:\n{}", w.evidence(&what, from));
    };
    assert!(
        challenge.contains(&format!(":{}:", w.user.name)),
        "the challenge names the invoking login: {challenge}"
    );
    // The person runs mfactl tap on their computer, with their own agent.
    let tap = run_with_timeout(
        Command::new(bins::require(&bins::mfactl()))
            .args(["tap", &challenge])
            .env("SSH_AUTH_SOCK", &ssh_agent.socket),
        Duration::from_secs(15),
    );
    assert!(tap.success(), "mfactl tap: {tap:?}");
    let answer = tap.stdout.trim().to_string();
    assert!(answer.starts_with("sk1."), "{answer}");
    run.answer(&answer);
    let code = run.finish(Duration::from_secs(20));
    let what = format!("exit {code:?}\n{}", run.describe());
    assert_eq!(code, Some(0), "{}", w.evidence(&what, from));
    assert_eq!(
        run.stdout().lines().last().map(str::trim),
        Some("root"),
        "{}",
        w.evidence(&what, from)
    );
    let d = w.sudo_decision(from, &what);
    assert_event_shape(&d);
    assert_eq!(d["result"], "allow", "{}", w.evidence(&what, from));
    assert_eq!(field(&d, "evidence"), "tap_ssh_sk_touch", "{d}");
}
