//! The agentless path: a certificate of this cluster's openssh CA.

use super::*;

/// Teleport's proxy logs in to an agentless OpenSSH node with a certificate
/// of the cluster's `openssh` CA (lib/auth `GenerateOpenSSHCert`: key id,
/// the logins, roles, traits, `private-key-policy` `web_session`, never
/// `mfa-verified`), which sshd trusts through TrustedUserCAKeys. Before,
/// pam-mfa refused every such login, where no MFA is required too.
#[test]
fn an_agentless_login_with_the_openssh_cas_certificate() {
    require_root!();
    let work = WorkDir::new("certs-agentless");
    let user = TestUser::create();
    let (_, user_ca_line, user_ca_doc) = cluster_ca(&work, "ca_user", "example.com", "");
    let (openssh, openssh_line, openssh_doc) =
        cluster_ca_of_type(&work, "ca_openssh", "example.com", "openssh", "");
    // A root cluster's openssh CA, which Teleport shares with its leaves:
    // sshd trusts it too, pam-mfa does not.
    let (root_openssh, root_line, root_doc) =
        cluster_ca_of_type(&work, "ca_root_openssh", "root.example.com", "openssh", "");
    let ca_file = work.write(
        "trusted_user_cas",
        &format!("{user_ca_line}{openssh_line}{root_line}"),
        0o644,
    );
    // prod-open needs no MFA on prod; access-prod does (no key to tap with).
    let b = bundle("someone-else", "false", "true", &[])
        .role(
            "prod-open",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some("false"),
        )
        .raw(&user_ca_doc)
        .raw(&openssh_doc)
        .raw(&root_doc);
    let (agent, sshd) = agent_and_sshd(&work, &b, &ca_file);
    let login = |key: &SshKey| login_with(&work, &sshd, &user, key);
    let evidence = |out: &SshOutcome| format!("{}\n{}", out.describe(), agent.evidence());
    let proxys = |ca: &std::path::Path, name: &str, roles: &[&str], extra: &[&str]| {
        let key = SshKey::generate(work.path(), name, KeyKind::Ed25519, false);
        let mut extensions = vec!["extension:private-key-policy=web_session"];
        extensions.extend_from_slice(extra);
        certify_teleport(ca, &key, &user.name, roles, "-5m:+1h", &extensions);
        key
    };

    // No MFA required: in, as the user the certificate names.
    let open = proxys(&openssh, "id_open", &["prod-open"], &[]);
    let out = login(&open);
    assert!(out.success(), "{}", evidence(&out));
    assert_eq!(out.stdout().trim(), user.name);
    let events = agent.audit_events();
    let allowed = events
        .iter()
        .find(|e| e["event"] == "decision" && e["result"] == "allow")
        .expect("allowed");
    assert_eq!(allowed["user"], user.name.as_str());

    // MFA required: the certificate is no tap, one is asked for (and with
    // no registered key nothing can answer it).
    let mfa = proxys(&openssh, "id_mfa", &["access-prod"], &[]);
    let out = login(&mfa);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("no registered security key"),
        "{}",
        evidence(&out)
    );

    // mfa-verified is never Teleport's in these: refused, not counted.
    let smuggled = proxys(
        &openssh,
        "id_smuggled",
        &["access-prod"],
        &["extension:mfa-verified=device-1"],
    );
    let out = login(&smuggled);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("certificate is not accepted"),
        "{}",
        evidence(&out)
    );

    // Another cluster's openssh CA, which sshd trusts: refused.
    let rooted = proxys(&root_openssh, "id_root", &["prod-open"], &[]);
    let out = login(&rooted);
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        agent
            .audit_text()
            .contains("openssh CA of root.example.com"),
        "{}",
        evidence(&out)
    );
}
