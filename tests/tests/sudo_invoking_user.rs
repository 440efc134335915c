//! Debian's real sudo is decided for the person who runs it, whatever name
//! PAM is handed (how sudo is run: `common::sudo`):
//!
//! - sudoers `rootpw, !pam_ruser`: sudo authenticates root (PAM_USER root)
//!   and sets no PAM_RUSER; the agent decides for the name of sudo's real
//!   uid, so the user's requirement (session MFA) asks for a tap, not
//!   root's (the cap's, off);
//! - two passwd entries of one uid, the other name first: sudo names it as
//!   PAM_RUSER; it is no cluster login, and the account (the uid) is the
//!   cluster user's, whose requirement applies.

mod common;

use common::sudo::Sudo;
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::Finished;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::Value;

/// `sudo -S id -un` as `user` with sudoers `defaults`, against an agent
/// whose policy gives `user` (by name) session MFA and the cap nothing;
/// every prompt is answered with a wrong answer. The agent's audit
/// events, and the evidence for a failed assertion.
fn sudo_with(
    work: &WorkDir,
    user: &TestUser,
    cluster_login: &str,
    defaults: &str,
) -> (Finished, Vec<Value>, String) {
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let service = unique_name("sudo-mfat");
    let config = AgentConfig {
        extra_yaml: "challenge:\n  tries: 1\nattached_keys:\n  enabled: false\n".into(),
        ..AgentConfig::with_env("prod")
    };
    let agent = Agent::start(
        work,
        &config.service(&service, "admin"),
        &bundle(cluster_login, "false", "true", &[&registered]),
    );
    let out = Sudo {
        user,
        service: &service,
        socket: &agent.socket,
        passwd_tries: 1,
        answer: Some("hello"),
        defaults,
    }
    .run(work);
    let evidence = format!("{out:?}\n{}", agent.evidence());
    (out, agent.audit_events(), evidence)
}

#[test]
fn sudo_with_rootpw_and_no_pam_ruser_asks_for_the_invoking_users_tap() {
    require_root!();
    let work = WorkDir::new("sudo-rootpw");
    let user = TestUser::create();
    let (out, events, evidence) = sudo_with(&work, &user, &user.name, "rootpw, !pam_ruser");
    assert_ne!(out.code, Some(0), "sudo was allowed:\n{evidence}");
    assert!(out.stderr.contains("MFA challenge pmfa1:"), "{evidence}");
    let asked = decisions_for(&events, &user.name);
    assert!(
        asked
            .iter()
            .any(|e| e["hook"] == "auth" && field(e, "requirement") == "session"),
        "decided for {}:\n{evidence}",
        user.name
    );
    assert!(
        decisions_for(&events, "root").is_empty(),
        "decided for root:\n{evidence}"
    );
}

#[test]
fn sudo_under_another_name_of_the_uid_gets_the_cluster_users_requirement() {
    require_root!();
    let work = WorkDir::new("sudo-uid-alias");
    // The alias comes first in /etc/passwd: getpwuid, and so sudo, name it.
    let alias = TestUser::create();
    let user = TestUser::create_sharing_uid(alias.uid);
    let (out, events, evidence) = sudo_with(&work, &user, &user.name, "");
    assert_ne!(out.code, Some(0), "sudo was allowed:\n{evidence}");
    assert!(out.stderr.contains("MFA challenge pmfa1:"), "{evidence}");
    let why = format!("uid {} is also cluster login {}", user.uid, user.name);
    let decided = decisions_for(&events, &user.name);
    assert!(
        decided
            .iter()
            .any(|e| field(e, "requirement") == "session" && field(e, "reason").contains(&why)),
        "decided as {}:\n{evidence}",
        user.name
    );
    assert!(
        decisions_for(&events, &alias.name).is_empty(),
        "decided for {}:\n{evidence}",
        alias.name
    );
}
