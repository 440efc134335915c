//! The end of a tap's tries under Debian's real sudo (1.9.13), outside SSH
//! with no key attached to this host (the challenge prompt): the module
//! returns PAM_MAXTRIES after the last try, and sudo treats it as any failed
//! authentication (plugins/sudoers/auth/pam.c, sudo_pam_verify: PAM_MAXTRIES
//! is AUTH_FAILURE like PAM_AUTH_ERR), so sudo_auth.c's verify_user asks
//! again, once for each of sudoers' `passwd_tries`. This pins that, so the
//! README's account of it stays true.

mod common;

use common::sudo::Sudo;
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// `challenge.tries` in this test.
const TRIES: usize = 3;

/// sudoers' `passwd_tries` (sudo's default).
const PASSWD_TRIES: usize = 3;

#[test]
fn sudo_starts_a_new_tap_for_each_of_its_passwd_tries() {
    require_root!();
    let work = WorkDir::new("sudo-tries");
    let user = TestUser::create();
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let service = unique_name("sudo-mfat");
    let config = AgentConfig {
        extra_yaml: format!("challenge:\n  tries: {TRIES}\nattached_keys:\n  enabled: false\n"),
        ..AgentConfig::with_env("prod")
    };
    let agent = Agent::start(
        &work,
        &config.service(&service, "admin"),
        &bundle(&user.name, "false", "true", &[&registered]),
    );
    let out = Sudo {
        user: &user,
        service: &service,
        socket: &agent.socket,
        passwd_tries: PASSWD_TRIES as u32,
        answer: Some("hello"),
        defaults: "",
    }
    .run(&work);
    let evidence = format!("{out:?}\n{}", agent.evidence());
    assert_ne!(out.code, Some(0), "sudo was allowed:\n{evidence}");
    assert!(!out.stdout.contains(&user.name), "{evidence}");
    let events = agent.audit_events();
    let spent: Vec<_> = decisions_for(&events, &user.name)
        .into_iter()
        .filter(|e| e["hook"] == "auth" && e["result"] == "deny")
        .collect();
    assert!(
        spent
            .iter()
            .all(|e| field(e, "reason").contains("last answer refused")),
        "every tap ended with its tries spent:\n{evidence}"
    );
    assert_eq!(
        spent.len(),
        PASSWD_TRIES,
        "sudo runs its auth stack again after PAM_MAXTRIES:\n{evidence}"
    );
    assert_eq!(
        out.stderr.matches("MFA challenge pmfa1:").count(),
        TRIES * PASSWD_TRIES,
        "{evidence}"
    );
    assert_eq!(
        out.stderr.matches("Sorry, try again.").count(),
        PASSWD_TRIES - 1,
        "{evidence}"
    );
}
