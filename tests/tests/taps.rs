//! Taps over keyboard-interactive with a real sshd and ssh client: the login
//! key is a plain ed25519 key, and `mfactl tap` (as SSH_ASKPASS) answers the
//! agent's challenge with an sk-dummy key held by the client's ssh-agent.

mod common;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

struct TapWorld {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    plain: SshKey,
    registered: SshKey,
    stranger: SshKey,
    work: WorkDir,
}

/// A prod node (access-prod requires session MFA) where the user's only
/// authorized key is a plain one; `registered` is the user's mfa_device.
fn tap_world(label: &str, prod_mfa: &str) -> TapWorld {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let stranger = SshKey::generate(work.path(), "id_stranger", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let service = unique_name("sshd-mfat");
    let b = bundle(&user.name, "false", prod_mfa, &[&registered]);
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, "ssh"),
        &b,
    );
    let sshd = Sshd::start(
        &work,
        &SshdOptions::new(&sshd_stack(&agent.socket, ""))
            .keys_from_agent(&agent.socket)
            .service_name(&service),
    );
    TapWorld {
        sshd,
        agent,
        user,
        plain,
        registered,
        stranger,
        work,
    }
}

impl TapWorld {
    fn tap_login(&self, ssh_agent: &TestSshAgent) -> SshOutcome {
        SshLogin::new(self.sshd.port, &self.user.name, &self.plain)
            .tap(bins::require(&bins::mfactl()), &ssh_agent.socket)
            .run(&self.work, "id -un")
    }

    fn evidence(&self, out: &SshOutcome) -> String {
        format!(
            "{}\n--- audit\n{}\n--- agent log\n{}",
            out.describe(),
            self.agent.audit_text(),
            self.agent.log()
        )
    }

    fn auth_decisions(&self) -> Vec<serde_json::Value> {
        self.agent
            .audit_events()
            .into_iter()
            .filter(|e| e["event"] == "decision" && e["login"] == self.user.name.as_str())
            .collect()
    }
}

#[test]
fn plain_key_plus_tap_through_mfactl_as_askpass() {
    require_root!();
    let w = tap_world("tap-ok", "true");
    let agent = TestSshAgent::start(w.work.path(), None);
    agent.add(&w.registered, None);
    let out = w.tap_login(&agent);
    assert!(
        out.success(),
        "the tapped login should succeed:\n{}",
        w.evidence(&out)
    );
    assert_eq!(out.stdout().trim(), w.user.name);
    assert!(
        out.askpass
            .iter()
            .any(|p| p.contains("MFA challenge pmfa1:")),
        "the prompt carries the challenge: {:?}",
        out.askpass
    );
    let d = w.auth_decisions();
    let auth = d
        .iter()
        .find(|e| e["hook"] == "auth")
        .expect("an auth decision");
    assert_eq!(auth["result"], "allow", "{d:?}");
    assert_eq!(auth["evidence"], "tap_ssh_sk_touch", "{d:?}");
    let account = d
        .iter()
        .find(|e| e["hook"] == "account")
        .expect("an account decision");
    assert_eq!(account["result"], "allow", "{d:?}");
    assert_eq!(
        account["evidence"], "grant_tap_ssh_sk_touch",
        "the account phase honours the tap: {d:?}"
    );

    // sk-dummy signs every time with the same counter: a second tap with the
    // same key looks like a cloned key, and is refused and audited.
    let again = w.tap_login(&agent);
    assert_eq!(again.exit_code(), Some(255), "{}", w.evidence(&again));
    assert!(
        again.stderr().contains("signature counter"),
        "{}",
        w.evidence(&again)
    );
    assert!(w
        .agent
        .audit_events()
        .iter()
        .any(|e| e["event"] == "answer_refused"
            && e["reason"].as_str().unwrap_or("").contains("counter")));
}

#[test]
fn unregistered_key_replayed_answer_and_no_answer_are_refused() {
    require_root!();
    let w = tap_world("tap-bad", "true");
    // A security key that is not this user's registered one.
    let stranger_agent = TestSshAgent::start(w.work.path(), None);
    stranger_agent.add(&w.stranger, None);
    let out = w.tap_login(&stranger_agent);
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        out.stderr().contains("no security key signed") || out.stderr().contains("not registered"),
        "{}",
        w.evidence(&out)
    );

    // A well-formed answer for another challenge (a replay) is refused.
    let registered_agent = TestSshAgent::start(w.work.path(), None);
    registered_agent.add(&w.registered, None);
    let old = "pmfa1:e2e-prod:someone:AAAAAAAAAAAAAAAAAAAAAA";
    let tap = std::process::Command::new(bins::mfactl())
        .args(["tap", old])
        .env("SSH_AUTH_SOCK", &registered_agent.socket)
        .output()
        .unwrap();
    assert!(tap.status.success(), "{tap:?}");
    let captured = String::from_utf8(tap.stdout).unwrap().trim().to_string();
    assert!(captured.starts_with("sk1."), "{captured}");
    let replay = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
        .answer(&captured)
        .run(&w.work, "id -un");
    assert_eq!(replay.exit_code(), Some(255), "{}", w.evidence(&replay));
    assert!(
        replay.stderr().contains("does not verify"),
        "{}",
        w.evidence(&replay)
    );

    // Garbage is refused with a clear message, and the prompt comes back.
    let junk = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
        .answer("hello")
        .run(&w.work, "id -un");
    assert_eq!(junk.exit_code(), Some(255));
    assert!(
        junk.stderr().contains("not a pam-mfa answer"),
        "{}",
        w.evidence(&junk)
    );
    let refused: Vec<_> = w
        .agent
        .audit_events()
        .into_iter()
        .filter(|e| e["event"] == "answer_refused")
        .collect();
    assert!(refused.len() >= 2, "{refused:?}");
}

/// A software FIDO2 authenticator (mfactl built with soft-fido2) in `dir`,
/// and the bundle document registering it for `user`.
fn soft_fido2(dir: &std::path::Path, user: &str) -> (std::path::PathBuf, String) {
    let file = dir.join("soft-fido2.json");
    let out = std::process::Command::new(bins::require(&bins::soft_mfactl()))
        .args([
            "soft-fido2-new",
            "--rp-id",
            pam_mfa_e2e::agent::WEBAUTHN_RP_ID,
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = format!(
        "kind: mfa_device\nversion: v1\nmetadata: {{name: {user}-yubikey-webauthn}}\nspec:\n  user: {user}\n  webauthn:\n    credential_id: {}\n    public_key_cbor: {}\n",
        spec["credential_id"].as_str().unwrap(),
        spec["public_key_cbor"].as_str().unwrap()
    );
    (file, doc)
}

#[test]
fn plain_key_plus_webauthn_tap_from_a_fido2_key() {
    require_root!();
    let w = tap_world("tap-webauthn", "true");
    let (file, doc) = soft_fido2(w.work.path(), &w.user.name);
    let b = bundle(&w.user.name, "false", "true", &[&w.registered]).raw(&doc);
    w.agent.update_bundle(&b);
    let login = |w: &TapWorld| {
        let mut l = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
            .tap(&bins::soft_mfactl(), std::path::Path::new("/nonexistent"));
        l.extra_env
            .push(("PAM_MFA_SOFT_FIDO2".into(), file.display().to_string()));
        l.run(&w.work, "id -un")
    };
    let out = login(&w);
    assert!(out.success(), "{}", w.evidence(&out));
    assert!(
        out.askpass
            .iter()
            .any(|p| p.contains("rp_id=e2e.example.com")),
        "{:?}",
        out.askpass
    );
    let d = w.auth_decisions();
    let auth = d.iter().rev().find(|e| e["hook"] == "auth").unwrap();
    assert!(
        auth["evidence"]
            .as_str()
            .unwrap_or("")
            .starts_with("tap_webauthn_"),
        "{d:?}"
    );
    assert_eq!(
        auth["device"],
        format!("{}-yubikey-webauthn", w.user.name).as_str(),
        "{d:?}"
    );
    // The software key counts up: a second tap is fine (unlike sk-dummy's fixed counter).
    let again = login(&w);
    assert!(again.success(), "{}", w.evidence(&again));

    // hardware_key_touch_and_pin on an SSH login is about the login key: a
    // plain login key is refused without a challenge that could not help.
    let pin = bundle(
        &w.user.name,
        "false",
        "hardware_key_touch_and_pin",
        &[&w.registered],
    )
    .raw(&doc);
    w.agent.update_bundle(&pin);
    let out = login(&w);
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        !out.askpass.iter().any(|p| p.contains("pmfa1:")),
        "{:?}",
        out.askpass
    );
    assert!(
        out.stderr().contains("hardware_key_touch_and_pin"),
        "{}",
        w.evidence(&out)
    );
}
