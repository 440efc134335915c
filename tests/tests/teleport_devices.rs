//! A person taps with the key they registered in Teleport (`tsh mfa add`):
//! the key exists only in the user's `spec.local_auth.mfa`, written as
//! `tctl get users --with-secrets --format=yaml` prints it (no mfa_device
//! document, no local credential file), through real sshd; a lock on the
//! device's id denies.

use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::teleport_user::{teleport_key, teleport_policy as policy, DEVICE_ID, SECRETS};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

#[test]
fn a_key_registered_only_in_teleport_taps_through_sshd() {
    require_root!();
    let work = WorkDir::new("teleport-devices");
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let (key_file, credential_id, public_key_cbor) = teleport_key(work.path());
    let b = policy(&user.name, &credential_id, &public_key_cbor);
    let MfaSshd { agent, sshd, .. } = MfaSshd::start(&work, AgentConfig::with_env("prod"), &b);
    // No credential file: XDG_CONFIG_HOME is an empty directory.
    let empty_config = work.subdir("empty-config", 0o700);
    let login = || -> SshOutcome {
        let mut l = SshLogin::new(sshd.port, &user.name, &plain)
            .tap(&bins::soft_mfactl(), std::path::Path::new("/nonexistent"));
        l.extra_env.extend([
            ("PAM_MFA_SOFT_FIDO2".into(), key_file.display().to_string()),
            ("XDG_CONFIG_HOME".into(), empty_config.display().to_string()),
        ]);
        l.run(&work, "id -un")
    };
    let evidence = |out: &SshOutcome| format!("{}\n{}", out.describe(), agent.evidence());

    let out = login();
    assert!(out.success(), "{}", evidence(&out));
    assert_eq!(out.stdout().trim(), user.name);
    // The prompt named the Teleport credential (base64url of its id).
    let id = base64_url(&credential_id);
    assert!(
        out.askpass
            .iter()
            .any(|p| p.contains(&format!("cred={id}")) && p.contains("rp_id=e2e.example.com")),
        "{:?}",
        out.askpass
    );
    let auth = last_auth(&agent, &user.name);
    assert_eq!(auth["result"], "allow", "{auth}");
    assert_eq!(auth["evidence"], "tap_webauthn_touch", "{auth}");
    assert_eq!(auth["device"], DEVICE_ID, "{auth}");
    // The secrets beside the device are in no log.
    for secret in SECRETS {
        assert!(!agent.audit_text().contains(secret) && !agent.log().contains(secret));
    }

    // A lock on the device's id (as `tctl lock --mfa-device`) denies.
    let lock = format!(
        "kind: lock\nversion: v2\nmetadata:\n  name: lost-yubikey\nspec:\n  target:\n    mfa_device: {DEVICE_ID}\n  message: reported lost\n"
    );
    agent.update_bundle(&policy(&user.name, &credential_id, &public_key_cbor).raw(&lock));
    let locked = login();
    assert_eq!(locked.exit_code(), Some(255), "{}", evidence(&locked));
    assert!(
        !locked.askpass.iter().any(|p| p.contains(&id)),
        "a locked device is not offered: {:?}",
        locked.askpass
    );
    let auth = last_auth(&agent, &user.name);
    assert_eq!(auth["result"], "deny", "{auth}");
}

fn base64_url(standard: &str) -> String {
    standard
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

fn last_auth(agent: &Agent, login: &str) -> serde_json::Value {
    agent
        .audit_events()
        .into_iter()
        .rev()
        .find(|e| e["event"] == "decision" && e["login"] == login && e["hook"] == "auth")
        .expect("an auth decision")
}
