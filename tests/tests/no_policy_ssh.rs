//! What a person sees over SSH while the agent has no policy (README,
//! Troubleshooting): with a key from their `authorized_keys` sshd runs PAM,
//! and the agent's refusal reaches the client before "Permission denied";
//! with only a registered security key the login ends at publickey (the
//! agent serves no keys without a policy) and PAM is never asked.

mod common;

use pam_mfa_e2e::agent::{AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

const REFUSAL: &str = "pam-mfa: no MFA policy is loaded on this host; login refused";

#[test]
fn without_a_policy_ssh_shows_the_refusal_only_to_an_authorized_keys_login() {
    require_root!();
    let work = WorkDir::new("no-policy-ssh");
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let sk = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    // An empty bundle loads as no policy.
    let host = MfaSshd::start(&work, AgentConfig::with_env("prod"), &Bundle::new());
    let evidence = |out: &pam_mfa_e2e::ssh::SshOutcome| {
        format!("{}\n{}", out.describe(), host.agent.evidence())
    };

    let out = SshLogin::new(host.sshd.port, &user.name, &plain).run(&work, "id -un");
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(out.stderr().contains(REFUSAL), "{}", evidence(&out));
    assert!(
        out.stderr().contains("Permission denied"),
        "{}",
        evidence(&out)
    );

    let out = SshLogin::new(host.sshd.port, &user.name, &sk).run(&work, "id -un");
    assert_eq!(out.exit_code(), Some(255), "{}", evidence(&out));
    assert!(
        out.stderr().contains("Permission denied (publickey)"),
        "{}",
        evidence(&out)
    );
    assert!(!out.stderr().contains("pam-mfa"), "{}", evidence(&out));
}
