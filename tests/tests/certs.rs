//! Teleport SSH user certificates through a real sshd: the agent verifies the
//! certificate against the bundle's user CA (sshd here trusts a second CA too,
//! so the agent's own check is what refuses it), reads the identity, and
//! counts `mfa-verified` as the session's MFA; a trusted cluster's
//! certificate has its roles mapped through its CA's `role_map`; a
//! certificate of this cluster's openssh CA (Teleport's proxy logging in to
//! an agentless node) names its user and carries no MFA.

#[path = "certs/agentless.rs"]
mod agentless;
mod common;

use common::user_ca::{certify_teleport, cluster_ca, cluster_ca_of_type};
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// Signs `key`'s public half with `ca` as Teleport would for `user`, with
/// role `access-prod`.
fn certify(ca: &std::path::Path, key: &SshKey, user: &str, mfa_verified: bool) {
    certify_with_roles(ca, key, user, mfa_verified, &["access-prod"]);
}

fn certify_with_roles(
    ca: &std::path::Path,
    key: &SshKey,
    user: &str,
    mfa_verified: bool,
    roles: &[&str],
) {
    certify_for(ca, key, user, mfa_verified, roles, "-5m:+1h");
}

/// [`certify_with_roles`], valid for `validity` (ssh-keygen's `-V`).
fn certify_for(
    ca: &std::path::Path,
    key: &SshKey,
    user: &str,
    mfa_verified: bool,
    roles: &[&str],
    validity: &str,
) {
    let mfa: &[&str] = if mfa_verified {
        &["extension:mfa-verified=device-1"]
    } else {
        &[]
    };
    certify_teleport(ca, key, user, roles, validity, mfa);
}

/// An agent on a prod node with `bundle`, and an sshd whose PAM stack asks
/// it and that trusts the user CAs in `ca_file`.
fn agent_and_sshd(work: &WorkDir, bundle: &Bundle, ca_file: &std::path::Path) -> (Agent, Sshd) {
    agent_and_sshd_after(work, bundle, ca_file, "")
}

/// [`agent_and_sshd`], with `auth_first` (PAM lines) ahead of pam-mfa's.
fn agent_and_sshd_after(
    work: &WorkDir,
    bundle: &Bundle,
    ca_file: &std::path::Path,
    auth_first: &str,
) -> (Agent, Sshd) {
    let service = unique_name("sshd-mfat");
    let agent = Agent::start(
        work,
        &AgentConfig::with_env("prod").service(&service, "ssh"),
        bundle,
    );
    let stack = format!("{auth_first}{}", sshd_stack(&agent.socket, ""));
    let mut opts = SshdOptions::new(&stack).service_name(&service);
    opts.extra
        .push(format!("TrustedUserCAKeys {}", ca_file.display()));
    let sshd = Sshd::start(work, &opts);
    (agent, sshd)
}

/// `id -un` over ssh with `key` (and its certificate), answering any
/// prompt with nothing.
fn login_with(work: &WorkDir, sshd: &Sshd, user: &TestUser, key: &SshKey) -> SshOutcome {
    SshLogin::new(sshd.port, &user.name, key)
        .answer("nothing")
        .run(work, "id -un")
}

#[test]
fn certificates_name_the_user_and_mfa_verified_counts() {
    require_root!();
    let work = WorkDir::new("certs");
    let user = TestUser::create();
    // sshd trusts a second CA that the cluster does not: the bundle names
    // only the first.
    let (trusted, ca_line, ca_doc) = cluster_ca(&work, "ca_trusted", "example.com", "");
    let (untrusted, untrusted_line, _) = cluster_ca(&work, "ca_untrusted", "other.example.com", "");
    let ca_file = work.write(
        "trusted_user_cas",
        &format!("{ca_line}{untrusted_line}"),
        0o644,
    );
    // The bundle: the user is known only through the certificate (no `user`
    // resource), access-prod requires session MFA, one user CA.
    let b = bundle("someone-else", "false", "true", &[]).raw(&ca_doc);
    let (agent, sshd) = agent_and_sshd(&work, &b, &ca_file);
    let login = |key: &SshKey| login_with(&work, &sshd, &user, key);
    let evidence = |out: &SshOutcome| format!("{}\n{}", out.describe(), agent.evidence());

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

/// A short-lived certificate (Teleport's per-session MFA ones live about a
/// minute) that expires after sshd accepted it, before pam-mfa's
/// keyboard-interactive step decides (a `pam_exec` step ahead of it waits
/// for the expiry): sshd checked it when it authenticated the connection,
/// as a Teleport node does, and never after. The login passes.
#[test]
fn a_certificate_that_expires_during_the_login_still_counts() {
    require_root!();
    let work = WorkDir::new("certs-expiring");
    let user = TestUser::create();
    let (trusted, ca_line, ca_doc) = cluster_ca(&work, "ca_trusted", "example.com", "");
    let ca_file = work.write("trusted_user_cas", &ca_line, 0o644);
    let b = bundle("someone-else", "false", "true", &[]).raw(&ca_doc);
    // The PAM step ahead of pam-mfa waits until the end named in this file,
    // written once sshd runs (its start-up is not in the margin).
    let expiry = work.path().join("valid-before");
    let wait = work.write(
        "wait-for-expiry",
        &format!(
            "#!/bin/sh\nend=$(cat {})\nwhile [ \"$(date +%s)\" -le \"$end\" ]; do sleep 0.2; done\nexit 0\n",
            expiry.display()
        ),
        0o755,
    );
    let first = format!("auth optional pam_exec.so quiet {}\n", wait.display());
    let (agent, sshd) = agent_and_sshd_after(&work, &b, &ca_file, &first);
    let key = SshKey::generate(work.path(), "id_short", KeyKind::Ed25519, false);
    // Valid for 8 s from now: sshd accepts it at once; pam-mfa decides
    // once it has expired.
    let valid_before = unix_now() + 8;
    std::fs::write(&expiry, valid_before.to_string()).expect("write valid-before");
    let validity = format!("-5m:0x{valid_before:x}");
    certify_for(
        &trusted,
        &key,
        &user.name,
        true,
        &["access-prod"],
        &validity,
    );
    // The login spends the certificate's remaining life waiting: room for
    // a loaded machine beyond the usual 20 s.
    let mut ssh = SshLogin::new(sshd.port, &user.name, &key).answer("nothing");
    ssh.timeout = std::time::Duration::from_secs(60);
    ssh.extra_args
        .extend(["-o".into(), "LogLevel=DEBUG1".into()]);
    let out = ssh.run(&work, "id -un");
    assert!(
        out.success(),
        "{}\n{}\n--- sshd log\n{}",
        out.describe(),
        agent.evidence(),
        sshd.log()
    );
    let events = agent.audit_events();
    let auth = events
        .iter()
        .find(|e| e["event"] == "decision" && e["hook"] == "auth" && e["result"] == "allow")
        .unwrap_or_else(|| panic!("auth allowed:\n{}", agent.evidence()));
    assert_eq!(auth["evidence"], "cert_mfa_verified_none");
    // The decision came after the certificate's end.
    assert!(unix_now() > valid_before);
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Teleport's `AccessInfoFromRemoteSSHIdentity`: the roles of a root
/// cluster's user are the root's; the leaf's CA of the root maps them. A
/// root role named like a leaf role that needs no MFA must not pass as it.
#[test]
fn a_trusted_clusters_certificate_has_its_roles_mapped() {
    require_root!();
    let work = WorkDir::new("certs-trusted-cluster");
    let user = TestUser::create();
    let (_, leaf_line, leaf_doc) = cluster_ca(&work, "ca_leaf", "leaf.example.com", "");
    let (root, root_line, root_doc) = cluster_ca(
        &work,
        "ca_root",
        "root.example.com",
        "  role_map:\n  - remote: prod-open\n    local: [access-prod]\n",
    );
    let ca_file = work.write(
        "trusted_user_cas",
        &format!("{leaf_line}{root_line}"),
        0o644,
    );
    // On this (leaf) cluster, prod-open lets anyone onto prod without MFA;
    // access-prod needs a tap and the user has no key.
    // A leaf user of the same name, with a registered security key.
    let leaf_key = SshKey::generate(work.path(), "leaf_sk", KeyKind::Ed25519Sk, false);
    let b = bundle("someone-else", "false", "true", &[])
        .user(&user.name, &["access-prod"], &[&user.name])
        .sk_device("leaf-namesake-key", &user.name, &leaf_key.public_line)
        .role(
            "prod-open",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some("false"),
        )
        .raw(&leaf_doc)
        .raw(&root_doc);
    let (agent, sshd) = agent_and_sshd(&work, &b, &ca_file);
    let login = |key: &SshKey| login_with(&work, &sshd, &user, key);
    let evidence = |out: &SshOutcome| format!("{}\n{}", out.describe(), agent.evidence());

    // The root's prod-open is the leaf's access-prod: MFA is owed, and only
    // the root's certificate can show it (a leaf user of the same name has
    // a registered key here: not the root user's to tap).
    let mapped = SshKey::generate(work.path(), "id_mapped", KeyKind::Ed25519, false);
    certify_with_roles(&root, &mapped, &user.name, false, &["prod-open"]);
    let out = login(&mapped);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("of trusted cluster root.example.com"),
        "{}",
        evidence(&out)
    );
    assert!(
        !out.askpass.iter().any(|p| p.contains("pmfa1:")),
        "a tap by the leaf user's key was offered: {:?}",
        out.askpass
    );

    // With the root's MFA (mfa-verified) the mapped login is in; a lock on
    // the root role itself then holds it (Teleport's ComputeLockTargets
    // counts a remote user's unmapped roles).
    let verified = SshKey::generate(work.path(), "id_verified", KeyKind::Ed25519, false);
    certify_with_roles(&root, &verified, &user.name, true, &["prod-open"]);
    let out = login(&verified);
    assert!(out.success(), "{}", evidence(&out));
    let lock = "kind: lock\nversion: v2\nmetadata: {name: hold-prod-open}\nspec: {target: {role: prod-open}, message: root prod-open held}\n";
    agent.update_bundle(&b.clone().raw(lock));
    let out = login(&verified);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("root prod-open held"),
        "{}",
        evidence(&out)
    );

    // A root role the map does not name: no role here, refused.
    let unmapped = SshKey::generate(work.path(), "id_unmapped", KeyKind::Ed25519, false);
    certify_with_roles(&root, &unmapped, &user.name, true, &["auditor"]);
    let out = login(&unmapped);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("certificate is not accepted"),
        "{}",
        evidence(&out)
    );
    assert!(
        agent
            .audit_text()
            .contains("no role of this cluster is mapped"),
        "{}",
        evidence(&out)
    );
}
