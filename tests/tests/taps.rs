//! Taps over keyboard-interactive with a real sshd and ssh client: the login
//! key is a plain ed25519 key, and `mfactl tap` (as SSH_ASKPASS) answers the
//! agent's challenge with an sk-dummy key held by the client's ssh-agent.

mod common;
#[path = "taps/world.rs"]
mod world;

use common::*;
use pam_mfa_e2e::bins;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use world::*;

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

    // A valid answer for another login's challenge is refused as such.
    let registered_agent = TestSshAgent::start(w.work.path(), None);
    registered_agent.add(&w.registered, None);
    let old = "pmfa1:e2e-prod:someone:AAAAAAAAAAAAAAAAAAAAAA";
    // As ssh's askpass gets it from a current agent: answers name their challenge.
    let prompt = format!("MFA challenge {old} answers=named answer: ");
    let tap = std::process::Command::new(bins::mfactl())
        .args(["tap", &prompt])
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
    let other = format!(
        "approves a login to e2e-prod as someone, not to e2e-prod as {}",
        w.user.name
    );
    assert!(replay.stderr().contains(&other), "{}", w.evidence(&replay));

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
    soft_fido2_with(dir, user, &[])
}

/// [`soft_fido2`] with more `mfactl soft-fido2-new` options (`--pin`...).
fn soft_fido2_with(
    dir: &std::path::Path,
    user: &str,
    options: &[&str],
) -> (std::path::PathBuf, String) {
    let file = dir.join("soft-fido2.json");
    let out = std::process::Command::new(bins::require(&bins::soft_mfactl()))
        .args([
            "soft-fido2-new",
            "--rp-id",
            pam_mfa_e2e::agent::WEBAUTHN_RP_ID,
            "--out",
        ])
        .arg(&file)
        .args(options)
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

/// The PIN of the software authenticator in the ClientPIN scenario.
const KEY_PIN: &str = "480913";

/// An ssh-askpass style program for `MFACTL_ASKPASS` (mfactl has no
/// terminal under ssh here): logs each prompt to `pin-prompts` beside it
/// and answers with the PIN in `pin`.
fn pin_askpass(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let program = dir.join("pin-askpass");
    std::fs::write(
        &program,
        "#!/bin/sh\ndir=$(dirname \"$0\")\nprintf '%s\\n' \"$1\" >> \"$dir/pin-prompts\"\ncat \"$dir/pin\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o700)).unwrap();
    program
}

fn soft_pin_retries(file: &std::path::Path) -> u64 {
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    saved["pin_retries"].as_u64().unwrap()
}

/// What `mfactl tap` wrote on stderr in every ssh run so far.
fn tap_stderr(w: &TapWorld) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(w.work.path()).unwrap().flatten() {
        if let Ok(t) = std::fs::read_to_string(e.path().join("tap.stderr")) {
            all.push_str(&t);
        }
    }
    all
}

/// `hardware_key_pin` where a tap is what counts (the sshd service is in
/// the admin class here, as sudo is; on an ssh-class login the key policy
/// is about the login key): a FIDO2 key with a PIN answers through
/// `mfactl tap` with user verification from CTAP2 ClientPIN. The PIN is
/// asked only when the prompt says `uv=required`; a wrong PIN is refused
/// and costs a try; the right one passes.
#[test]
fn hardware_key_pin_tap_with_the_fido2_keys_pin() {
    require_root!();
    let w = tap_world_as("tap-pin", "true", "admin");
    let (file, doc) = soft_fido2_with(w.work.path(), &w.user.name, &["--pin", KEY_PIN]);
    let askpass = pin_askpass(w.work.path());
    let prompts = w.work.path().join("pin-prompts");
    let login = |w: &TapWorld, pin: &str| {
        std::fs::write(w.work.path().join("pin"), format!("{pin}\n")).unwrap();
        let _ = std::fs::remove_file(&prompts);
        let mut l = SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
            .tap(&bins::soft_mfactl(), std::path::Path::new("/nonexistent"));
        l.extra_env
            .push(("PAM_MFA_SOFT_FIDO2".into(), file.display().to_string()));
        l.extra_env
            .push(("MFACTL_ASKPASS".into(), askpass.display().to_string()));
        l.run(&w.work, "id -un")
    };
    let pin_prompts = || std::fs::read_to_string(&prompts).unwrap_or_default();
    let last_auth = |w: &TapWorld| {
        let d = w.auth_decisions();
        d.iter()
            .rev()
            .find(|e| e["hook"] == "auth")
            .cloned()
            .unwrap_or_default()
    };

    // Session MFA only: a touch is enough, and the PIN is not asked.
    w.agent
        .update_bundle(&bundle(&w.user.name, "false", "true", &[&w.registered]).raw(&doc));
    let out = login(&w, KEY_PIN);
    assert!(out.success(), "{}", w.evidence(&out));
    assert!(
        !out.askpass.iter().any(|p| p.contains("uv=required")),
        "{:?}",
        out.askpass
    );
    assert_eq!(pin_prompts(), "", "no PIN asked without uv=required");
    assert_eq!(last_auth(&w)["evidence"], "tap_webauthn_touch");

    // hardware_key_pin: the prompt asks for UV.
    let pin_bundle = bundle(&w.user.name, "false", "hardware_key_pin", &[&w.registered]).raw(&doc);
    w.agent.update_bundle(&pin_bundle);
    assert_eq!(soft_pin_retries(&file), 8);
    let wrong = login(&w, "000000");
    assert_eq!(wrong.exit_code(), Some(255), "{}", w.evidence(&wrong));
    assert!(
        wrong.askpass.iter().any(|p| p.contains("uv=required")),
        "{:?}",
        wrong.askpass
    );
    // Each refused answer brings a fresh challenge (challenge.tries), and
    // each makes mfactl ask the PIN again: every wrong one costs a try.
    let asked = pin_prompts().lines().filter(|l| l.contains("PIN")).count();
    assert!(asked >= 1, "{}", pin_prompts());
    assert!(
        tap_stderr(&w).contains("wrong PIN (7 tries left"),
        "{}\n--- tap stderr\n{}",
        w.evidence(&wrong),
        tap_stderr(&w)
    );
    assert_eq!(
        soft_pin_retries(&file),
        8 - asked as u64,
        "the key counted each wrong PIN"
    );
    assert_ne!(last_auth(&w)["result"], "allow", "{}", w.evidence(&wrong));

    let right = login(&w, KEY_PIN);
    assert!(
        right.success(),
        "{}\n--- tap stderr\n{}",
        w.evidence(&right),
        tap_stderr(&w)
    );
    assert_eq!(right.stdout().trim(), w.user.name);
    assert!(pin_prompts().contains("PIN"), "{}", pin_prompts());
    let auth = last_auth(&w);
    assert_eq!(auth["result"], "allow", "{auth}");
    assert_eq!(
        auth["evidence"], "tap_webauthn_touch_and_pin",
        "UV came from the PIN: {auth}"
    );
    assert_eq!(
        soft_pin_retries(&file),
        8,
        "the right PIN restores the tries"
    );
    // The PIN stays on the client: not in any log, prompt or message.
    for text in [
        w.agent.log(),
        w.agent.audit_text(),
        right.describe(),
        wrong.describe(),
        tap_stderr(&w),
        pin_prompts(),
    ] {
        assert!(!text.contains(KEY_PIN), "the PIN leaked: {text}");
    }
}
