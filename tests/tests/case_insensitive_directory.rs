//! A directory that matches names without regard to case (sssd with
//! `case_sensitive = false`, the usual Active Directory setup) and lists
//! none: `ssh MFATCI…@host` logs in to the account `mfatci…` through real
//! sshd, which hands PAM the name as typed. The typed name is no cluster
//! login, but the account's own name (getpwnam's) is, and its session MFA
//! applies, not the cap's nothing (`pam_mfa_e2e::nss_directory`).

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::nss_directory::CaseInsensitiveDirectory;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

#[test]
fn a_login_typed_in_another_case_gets_the_accounts_requirement() {
    require_root!();
    let work = WorkDir::new("case-insensitive-directory");
    let directory = CaseInsensitiveDirectory::create(&work);
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    directory.authorize_keys(&[plain.public_line.as_str()]);
    let account = directory.name.clone();
    let typed = account.to_uppercase();
    // prod requires session MFA of the account's cluster user; the cap
    // (what a login of no cluster user gets) asks for nothing.
    let bundle = Bundle::new()
        .cap("false")
        .role("prod", &[("env", "prod")], &[&account], Some("true"))
        .user(&account, &["prod"], &[&account]);
    let service = unique_name("sshd-mfat");
    let agent = Agent::start_wrapped(
        &work,
        &AgentConfig::with_env("prod").service(&service, "ssh"),
        &bundle,
        directory.agent_wrapper(),
    );
    let opts = directory.for_sshd(SshdOptions::pam_mfa(&agent.socket, &service));
    let sshd = Sshd::start(&work, &opts);

    let out = SshLogin::new(sshd.port, &typed, &plain).run(&work, "echo shell-ran");
    let evidence = format!("{}\n{}", out.describe(), agent.evidence());
    assert_eq!(out.exit_code(), Some(255), "{evidence}");
    assert!(!out.stdout().contains("shell-ran"), "{evidence}");
    let events = agent.audit_events();
    let auth = events
        .iter()
        .find(|e| e["event"] == "decision" && e["hook"] == "auth")
        .unwrap_or_else(|| panic!("an auth decision:\n{evidence}"));
    assert_eq!(auth["result"], "deny", "{evidence}");
    assert_eq!(auth["login"], account.as_str(), "{evidence}");
    assert_eq!(auth["requirement"], "session", "{evidence}");
    let alias = format!(
        "login {typed} is no cluster login, but its uid {} is also cluster login {account}: decided as {account}",
        directory.uid
    );
    assert!(
        auth["reason"].as_str().unwrap_or("").contains(&alias),
        "{evidence}"
    );
}
