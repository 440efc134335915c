//! Teleport SSH user certificates through a real sshd: the agent verifies the
//! certificate against the bundle's user CA (sshd here trusts a second CA too,
//! so the agent's own check is what refuses it), reads the identity, and
//! counts `mfa-verified` as the session's MFA.

mod common;

use std::process::Command;

use base64::Engine;
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

fn keygen(args: &[&str]) {
    let out = Command::new("ssh-keygen").args(args).output().unwrap();
    assert!(out.status.success(), "ssh-keygen {args:?}: {out:?}");
}

/// Signs `key`'s public half with `ca` as Teleport would for `user`.
fn certify(ca: &std::path::Path, key: &SshKey, user: &str, mfa_verified: bool) {
    let roles = r#"extension:teleport-roles={"version":"v1","roles":["access-prod"]}"#.to_string();
    let traits = format!(r#"extension:teleport-traits={{"logins":["{user}"]}}"#);
    let mut args = vec![
        "-q",
        "-s",
        ca.to_str().unwrap(),
        "-I",
        user,
        "-n",
        user,
        "-V",
        "-5m:+1h",
        "-O",
        &roles,
        "-O",
        &traits,
    ];
    if mfa_verified {
        args.extend(["-O", "extension:mfa-verified=device-1"]);
    }
    args.push(key.public.to_str().unwrap());
    keygen(&args);
}

#[test]
fn certificates_name_the_user_and_mfa_verified_counts() {
    require_root!();
    let work = WorkDir::new("certs");
    let user = TestUser::create();
    let trusted = work.join("ca_trusted");
    let untrusted = work.join("ca_untrusted");
    keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-f",
        trusted.to_str().unwrap(),
    ]);
    keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-f",
        untrusted.to_str().unwrap(),
    ]);
    let ca_line = std::fs::read_to_string(trusted.with_extension("pub")).unwrap();
    let both = format!(
        "{ca_line}{}",
        std::fs::read_to_string(untrusted.with_extension("pub")).unwrap()
    );
    let ca_file = work.write("trusted_user_cas", &both, 0o644);

    // The bundle: the user is known only through the certificate (no `user`
    // resource), access-prod requires session MFA, one user CA.
    let ca_doc = format!(
        "kind: cert_authority\nversion: v2\nmetadata: {{name: example.com}}\nspec:\n  type: user\n  cluster_name: example.com\n  active_keys:\n    ssh:\n    - public_key: {}\n",
        base64::engine::general_purpose::STANDARD.encode(ca_line.trim())
    );
    let b = bundle("someone-else", "false", "true", &[]).raw(&ca_doc);
    let service = unique_name("sshd-mfat");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, "ssh"),
        &b,
    );
    let mut opts = SshdOptions::new(&sshd_stack(&agent.socket, "")).service_name(&service);
    opts.extra
        .push(format!("TrustedUserCAKeys {}", ca_file.display()));
    let sshd = Sshd::start(&work, &opts);

    let login = |key: &SshKey| {
        SshLogin::new(sshd.port, &user.name, key)
            .answer("nothing")
            .run(&work, "id -un")
    };
    let evidence = |out: &pam_mfa_e2e::ssh::SshOutcome| {
        format!(
            "{}\n--- audit\n{}\n--- agent\n{}",
            out.describe(),
            agent.audit_text(),
            agent.log()
        )
    };

    // Trusted CA, mfa-verified: in, no prompt.
    let good = SshKey::generate(work.path(), "id_good", KeyKind::Ed25519, false);
    certify(&trusted, &good, &user.name, true);
    let out = login(&good);
    assert!(out.success(), "{}", evidence(&out));
    assert_eq!(out.stdout().trim(), user.name);
    assert!(
        !out.askpass.iter().any(|p| p.contains("pmfa1:")),
        "no challenge: {:?}",
        out.askpass
    );
    let events = agent.audit_events();
    let auth = events
        .iter()
        .find(|e| e["event"] == "decision" && e["hook"] == "auth" && e["result"] == "allow")
        .expect("auth allowed");
    assert_eq!(auth["user"], user.name.as_str());
    assert_eq!(auth["evidence"], "cert_mfa_verified_none");

    // Trusted CA, no mfa-verified: session MFA is still owed (a challenge, and
    // with no registered key nothing can answer it).
    let plain = SshKey::generate(work.path(), "id_plain_cert", KeyKind::Ed25519, false);
    certify(&trusted, &plain, &user.name, false);
    let out = login(&plain);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("no registered security key"),
        "{}",
        evidence(&out)
    );

    // A CA sshd trusts but the cluster does not: refused by the agent.
    let rogue = SshKey::generate(work.path(), "id_rogue", KeyKind::Ed25519, false);
    certify(&untrusted, &rogue, &user.name, true);
    let out = login(&rogue);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("certificate is not accepted"),
        "{}",
        evidence(&out)
    );
    assert!(agent.audit_events().iter().any(|e| e["result"] == "deny"
        && e["reason"]
            .as_str()
            .unwrap_or("")
            .contains("certificate refused")));
}
