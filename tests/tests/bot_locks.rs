//! Locks on Machine ID bots through a real sshd: a `bot_instance_id` lock
//! holds the bot certificate of that instance (its
//! `bot-instance-id@goteleport.com` extension) and no other, and a
//! `join_token` lock holds the bot certificates that name that join token
//! (`join-token@goteleport.com`, written by lib/sshca `Identity.Encode`)
//! and, failing closed, those that name none, not one that names another,
//! as lib/services `SSHAccessLockTargets` lists both among an SSH login's
//! lock targets.

mod common;

use common::user_ca::{certify_teleport, cluster_ca};
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

fn lock(target: &str) -> String {
    format!("kind: lock\nversion: v2\nmetadata: {{name: hold-bot}}\nspec: {{target: {{{target}}}, message: bot held}}\n")
}

#[test]
fn bot_instance_and_join_token_locks_hold_bot_certificates() {
    require_root!();
    let work = WorkDir::new("bot-locks");
    let user = TestUser::create();
    let (ca, ca_line, ca_doc) = cluster_ca(&work, "ca", "example.com", "");
    let ca_file = work.write("trusted_user_cas", &ca_line, 0o644);
    // No MFA on prod: only a lock stands in a certificate's way.
    let b = bundle("someone-else", "false", "false", &[]).raw(&ca_doc);
    let service = unique_name("sshd-botlk");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, "ssh"),
        &b,
    );
    let mut opts = SshdOptions::new(&sshd_stack(&agent.socket, "")).service_name(&service);
    opts.extra
        .push(format!("TrustedUserCAKeys {}", ca_file.display()));
    let sshd = Sshd::start(&work, &opts);
    let certified = |name: &str, extensions: &[&str]| {
        let key = SshKey::generate(work.path(), name, KeyKind::Ed25519, false);
        certify_teleport(
            &ca,
            &key,
            &user.name,
            &["access-prod"],
            "-5m:+1h",
            extensions,
        );
        key
    };
    let bot_of = |name: &str, instance: &str, token: Option<&str>| {
        let ext = format!("extension:bot-instance-id@goteleport.com={instance}");
        let token = token.map(|t| format!("extension:join-token@goteleport.com={t}"));
        let mut extensions = vec!["extension:bot-name@goteleport.com=ci", &*ext];
        extensions.extend(token.as_deref());
        certified(name, &extensions)
    };
    const LOCKED_TOKEN: &str = "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";
    let bot_a = bot_of(
        "id_bot_a",
        "2f1c6a8e-0000-4e0f-9a31-5c2d8e6f7a10",
        Some(LOCKED_TOKEN),
    );
    let bot_b = bot_of(
        "id_bot_b",
        "9b7e4d21-0000-4c3a-8f12-0e5d6c7b8a90",
        Some("another-join-token"),
    );
    // An older Teleport's bot certificate: no join token named.
    let bot_c = bot_of("id_bot_c", "5d0c2a7f-0000-4b1e-8d3c-1f2e3d4c5b6a", None);
    let person = certified("id_person", &[]);
    let login = |key: &SshKey| {
        SshLogin::new(sshd.port, &user.name, key)
            .answer("nothing")
            .run(&work, "id -un")
    };
    let evidence = |out: &SshOutcome| format!("{}\n{}", out.describe(), agent.evidence());
    let held = |out: &SshOutcome| out.exit_code() == Some(255) && out.stderr().contains("bot held");

    for key in [&bot_a, &bot_b, &bot_c, &person] {
        let out = login(key);
        assert!(out.success(), "no lock yet: {}", evidence(&out));
    }

    agent.update_bundle(&b.clone().raw(&lock(
        "bot_instance_id: 2f1c6a8e-0000-4e0f-9a31-5c2d8e6f7a10",
    )));
    let out = login(&bot_a);
    assert!(held(&out), "the locked instance: {}", evidence(&out));
    for key in [&bot_b, &bot_c, &person] {
        let out = login(key);
        assert!(out.success(), "not that instance: {}", evidence(&out));
    }

    agent.update_bundle(&b.clone().raw(&lock(&format!("join_token: {LOCKED_TOKEN}"))));
    let out = login(&bot_a);
    assert!(held(&out), "the locked join token: {}", evidence(&out));
    let out = login(&bot_c);
    assert!(held(&out), "a bot naming no join token: {}", evidence(&out));
    for (key, what) in [
        (&bot_b, "another join token"),
        (&person, "a person's certificate"),
    ] {
        let out = login(key);
        assert!(out.success(), "{what}: {}", evidence(&out));
    }
}
