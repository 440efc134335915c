//! sudo with NOPASSWD (as cloud images give their first user) inside an SSH
//! session on a prod node, with real sshd, ssh and sudo: sudo then runs no
//! auth stack, so pam_mfa.so in `auth` alone never runs; with it in the
//! service's `account` stack too (README), the tap is asked there: the
//! forwarded ssh-agent's registered key lets sudo through, and with
//! nothing to tap sudo is refused at the prompt.
//!
//! The world (private sudoers and PAM service in sshd's mount namespace)
//! is sudo_forwarded's, with a NOPASSWD rule.

mod common;
// sudo_forwarded's world; this file uses part of it.
#[allow(dead_code)]
#[path = "sudo_forwarded/world.rs"]
mod world;

use common::*;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use world::*;

#[test]
fn nopasswd_sudo_is_decided_in_account_by_the_forwarded_key() {
    require_root!();
    let w = sudo_world_with("sudo-nopw-ok", false, true);
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.registered, None);
    let from = w.sshd.log_len();
    let out = w.ssh(Some(&ssh_agent), SUDO_NO_INPUT);
    let what = out.describe();
    assert!(out.success(), "{}", w.evidence(&what, from));
    assert_eq!(
        out.stdout().lines().last().map(str::trim),
        Some("root"),
        "{}",
        w.evidence(&what, from)
    );
    let d = w.sudo_decision(from, &what);
    assert_event_shape(&d);
    assert_eq!(d["result"], "allow", "{}", w.evidence(&what, from));
    assert!(
        field(&d, "evidence").starts_with("forwarded_agent_ssh_sk"),
        "{d}"
    );
    // NOPASSWD: sudo ran no auth stack, so this is the only decision.
    assert!(
        w.sudo_events().iter().all(|e| e["hook"] != "auth"),
        "{}",
        w.evidence(&what, from)
    );
}

#[test]
fn nopasswd_sudo_with_nothing_to_tap_is_refused_at_the_prompt() {
    require_root!();
    let w = sudo_world_with("sudo-nopw-none", false, true);
    let from = w.sshd.log_len();
    let out = w.ssh(None, SUDO_NO_INPUT);
    let d = w.assert_refused_at_the_prompt(&out, from);
    assert_eq!(d["hook"], "account", "{d}");
}
