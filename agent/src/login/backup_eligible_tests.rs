//! The backup-eligible (BE) flag Teleport recorded for a WebAuthn device
//! (`local_auth.mfa[].webauthn.credentialBackupEligible`), loaded and held
//! against the assertion's: go-webauthn's `validateLogin` (webauthn/login.go)
//! refuses a BE that differs from the recorded one, and a credential
//! recorded backup-eligible is a synced passkey, whatever it signs.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use pam_mfa_protocol::{PamHook, ResponseBody};

use super::conversation::answer;
use super::flow_tests::{prompt_text, Fixture};
use super::tap::Step;
use crate::challenge::find_challenge;
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::{Authenticator, GetAssertionRequest};
use crate::verify::webauthn::{client_data_hash, encode_answer};

pub(super) const RP: &str = "teleport.example.com";
const APP_ID: &str = "https://teleport.example.com:3080";

/// One `local_auth.mfa` WebAuthn entry as tctl prints it; `recorded` is
/// the `credentialBackupEligible` line, if any.
pub(super) fn entry(key: &SoftAuthenticator, recorded: Option<bool>) -> String {
    let flags = match recorded {
        Some(be) => {
            format!("        credentialBackupEligible: {be}\n        credentialBackedUp: {be}\n")
        }
        None => String::new(),
    };
    format!(
        "    - kind: mfa_device\n      version: v1\n      metadata: {{name: passkey}}\n      id: id-passkey\n      addedAt: \"2024-01-01T00:00:00Z\"\n      webauthn:\n        credentialId: {}\n        publicKeyCbor: {}\n        signatureCounter: 0\n{flags}",
        STANDARD.encode(key.credential_id()),
        STANDARD.encode(key.public_key_cose())
    )
}

fn u2f_entry(key: &SoftAuthenticator) -> String {
    format!(
        "    - kind: mfa_device\n      version: v1\n      metadata: {{name: legacy}}\n      id: id-legacy\n      addedAt: \"2022-01-01T00:00:00Z\"\n      u2f:\n        keyHandle: {}\n        pubKey: {}\n        counter: 0\n",
        STANDARD.encode(key.credential_id()),
        STANDARD.encode(key.public_key_spki_der())
    )
}

/// A prod role with `require_session_mfa: require`, the cap, and alice
/// (login root) holding `entries`.
pub(super) fn policy(require: &str, entries: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: {require}\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: webauthn\n  webauthn: {{rp_id: {RP}}}\n  u2f: {{app_id: \"{APP_ID}\"}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n  local_auth:\n    mfa:\n{entries}"
    )
}

pub(super) fn key(rp: &str, seed: &[u8], asserted_be: bool) -> SoftAuthenticator {
    let mut a = SoftAuthenticator::from_seed(rp, seed);
    a.discoverable = false;
    a.backup_eligible = asserted_be;
    a
}

fn word<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace().find_map(|w| w.strip_prefix(key))
}

/// What `mfactl tap` answers to the prompt's question, signing for `signing_rp`.
fn tap(key: &mut SoftAuthenticator, question: &str, signing_rp: &str) -> String {
    let c = find_challenge(question).unwrap();
    let allow = word(question, "cred=")
        .unwrap()
        .split(',')
        .map(|id| URL_SAFE_NO_PAD.decode(id).unwrap())
        .collect();
    let req = GetAssertionRequest {
        rp_id: signing_rp.into(),
        client_data_hash: client_data_hash(&c.text, RP),
        allow_credentials: allow,
        user_verification: false,
        pin_uv_auth: None,
    };
    let r = key
        .get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap();
    encode_answer(&r.credential_id, &r.authenticator_data, &r.signature)
}

/// `Ok(())` when the tap is allowed; the refusal's text otherwise.
pub(super) fn outcome(
    f: &Fixture,
    step: Step,
    key: &mut SoftAuthenticator,
    signing_rp: &str,
) -> Result<(), String> {
    let (conv, prompt) = match step {
        Step::Ask(conv, prompt) => (conv, prompt),
        Step::Done(body) => panic!("expected a challenge, got {body:?}"),
    };
    let text = prompt_text(&prompt);
    let a = tap(key, text.lines().last().unwrap(), signing_rp);
    match answer(&f.state, conv, &[a]) {
        Step::Done(ResponseBody::Allow { .. }) => Ok(()),
        Step::Done(ResponseBody::Deny { message, .. }) => Err(message),
        Step::Done(other) => panic!("{other:?}"),
        Step::Ask(_, again) => Err(prompt_text(&again)),
    }
}

fn ssh_tap(require: &str, recorded: Option<bool>, asserted: bool) -> Result<(), String> {
    let mut k = key(RP, b"passkey", asserted);
    let f = Fixture::new(&policy(require, &entry(&k, recorded)), "");
    let step = f.begin(PamHook::Auth, None, "10.0.0.1");
    outcome(&f, step, &mut k, RP)
}

fn sudo_tap(require: &str, recorded: Option<bool>, asserted: bool) -> Result<(), String> {
    let mut k = key(RP, b"passkey", asserted);
    let f = Fixture::new(
        &policy(require, &entry(&k, recorded)),
        "attached_keys:\n  enabled: false\n",
    );
    let step = f.begin_service_from("sudo", PamHook::Auth, 1, Some("root"));
    outcome(&f, step, &mut k, RP)
}

/// Session MFA: an assertion whose BE differs from the recorded one is
/// refused either way, naming the device; a BE that matches, or none
/// recorded (Teleport's nil: the assertion's own), is accepted.
#[test]
fn a_backup_eligible_flag_other_than_teleports_record_is_refused() {
    for (recorded, asserted) in [(Some(true), false), (Some(false), true)] {
        let why = ssh_tap("true", recorded, asserted).unwrap_err();
        assert!(why.contains("passkey"), "{why}");
        assert!(why.contains("Teleport recorded it"), "{why}");
    }
    for (recorded, asserted) in [
        (Some(true), true),
        (Some(false), false),
        (None, true),
        (None, false),
    ] {
        assert_eq!(
            ssh_tap("true", recorded, asserted),
            Ok(()),
            "{recorded:?} {asserted}"
        );
    }
}

/// A hardware-key tap rule (sudo, `hardware_key_touch`): a credential
/// Teleport recorded backup-eligible is a synced passkey, refused whatever
/// its assertion signs; one recorded bound to its key is allowed.
#[test]
fn a_credential_recorded_backup_eligible_is_no_hardware_key() {
    let cleared = sudo_tap("hardware_key_touch", Some(true), false).unwrap_err();
    assert!(cleared.contains("Teleport recorded it"), "{cleared}");
    let signed = sudo_tap("hardware_key_touch", Some(true), true).unwrap_err();
    assert!(signed.contains("synced passkey"), "{signed}");
    assert_eq!(sudo_tap("hardware_key_touch", Some(false), false), Ok(()));
    // Not recorded: the signed flag decides, as before.
    let unrecorded = sudo_tap("hardware_key_touch", None, true).unwrap_err();
    assert!(unrecorded.contains("synced passkey"), "{unrecorded}");
    assert_eq!(sudo_tap("hardware_key_touch", None, false), Ok(()));
}

/// Teleport's `deviceToCredential` gives a U2F device no flags: go-webauthn
/// holds its assertion to BE = false.
#[test]
fn a_u2f_device_signing_backup_eligible_is_refused() {
    for (asserted, allowed) in [(false, true), (true, false)] {
        let mut k = key(APP_ID, b"u2f", asserted);
        let f = Fixture::new(&policy("true", &u2f_entry(&k)), "");
        let step = f.begin(PamHook::Auth, None, "10.0.0.1");
        let got = outcome(&f, step, &mut k, APP_ID);
        assert_eq!(got.is_ok(), allowed, "{got:?}");
    }
}

/// sudo's tap stands for the hardware key itself (no login key answers
/// for it): under every `hardware_key*` policy, plain `hardware_key`
/// included, a synced passkey is refused, naming it, as Teleport meets
/// each of them only with a hardware key (`keys.IsRequiredPolicyMet`).
/// Before, plain `hardware_key` took it. Session MFA alone takes it.
#[test]
fn every_hardware_key_policy_refuses_a_synced_passkey_on_sudo() {
    for require in [
        "hardware_key",
        "hardware_key_touch",
        "hardware_key_pin",
        "hardware_key_touch_and_pin",
    ] {
        for (recorded, asserted) in [(Some(true), true), (None, true)] {
            let why = sudo_tap(require, recorded, asserted).unwrap_err();
            assert!(
                why.contains(&format!(
                    "passkey is a synced passkey (backup-eligible, as recorded or signed), not a hardware key, and this login needs {require}"
                )),
                "{require} {recorded:?}: {why}"
            );
        }
    }
    assert_eq!(sudo_tap("hardware_key", Some(false), false), Ok(()));
    assert_eq!(sudo_tap("hardware_key", None, false), Ok(()));
    assert_eq!(sudo_tap("true", Some(true), true), Ok(()));
}
