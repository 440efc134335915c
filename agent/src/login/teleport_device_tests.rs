//! Taps with Teleport's own devices (a user's `local_auth.mfa`), in
//! process: the prompt names the credential ids (most recent first, within
//! PAM's 512 bytes) and the U2F app id; the assertion a key makes over
//! them is verified as Teleport does, and stricter (UP, counters).

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

const RP: &str = "teleport.example.com";
const APP_ID: &str = "https://teleport.example.com:3080";

/// One `local_auth.mfa` entry as tctl prints it.
pub(super) fn webauthn_entry(
    name: &str,
    key: &SoftAuthenticator,
    added: &str,
    counter: u32,
) -> String {
    format!(
        "    - kind: mfa_device\n      version: v1\n      metadata: {{name: {name}}}\n      id: id-{name}\n      addedAt: \"{added}\"\n      webauthn:\n        credentialId: {}\n        publicKeyCbor: {}\n        signatureCounter: {counter}\n",
        STANDARD.encode(key.credential_id()),
        STANDARD.encode(key.public_key_cose())
    )
}

fn u2f_entry(name: &str, key: &SoftAuthenticator, added: &str) -> String {
    format!(
        "    - kind: mfa_device\n      version: v1\n      metadata: {{name: {name}}}\n      id: id-{name}\n      addedAt: \"{added}\"\n      u2f:\n        keyHandle: {}\n        pubKey: {}\n        counter: 0\n",
        STANDARD.encode(key.credential_id()),
        STANDARD.encode(key.public_key_spki_der())
    )
}

/// A prod role with session MFA, the cap (rp_id, app id) and alice (login
/// root) holding `entries` in her local_auth, beside her password hash.
fn policy(entries: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: true\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: webauthn\n  webauthn: {{rp_id: {RP}}}\n  u2f: {{app_id: \"{APP_ID}\"}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n  local_auth:\n    password_hash: JDJhJDEwJGhhc2g=\n    mfa:\n{entries}"
    )
}

pub(super) fn teleport_key(rp: &str, seed: &[u8]) -> SoftAuthenticator {
    let mut a = SoftAuthenticator::from_seed(rp, seed);
    a.discoverable = false;
    a
}

/// The prompt's value for `key=`.
fn word<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace().find_map(|w| w.strip_prefix(key))
}

/// What mfactl tap does with the prompt: ask the key about the prompt's
/// credential ids, for `signing_rp`, over the rp_id's clientDataJSON.
pub(super) fn tap(key: &mut SoftAuthenticator, text: &str, signing_rp: &str) -> String {
    let c = find_challenge(text).unwrap();
    let allow = word(text, "cred=")
        .unwrap()
        .split(',')
        .map(|id| URL_SAFE_NO_PAD.decode(id).unwrap())
        .collect();
    let req = GetAssertionRequest {
        rp_id: signing_rp.into(),
        client_data_hash: client_data_hash(&c.text, word(text, "rp_id=").unwrap()),
        allow_credentials: allow,
        user_verification: false,
        pin_uv_auth: None,
    };
    let r = key
        .get_assertion(&req, Instant::now() + Duration::from_secs(5))
        .unwrap();
    encode_answer(&r.credential_id, &r.authenticator_data, &r.signature)
}

fn challenge(f: &Fixture) -> (Box<super::tap::Conversation>, String) {
    match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Ask(conv, prompt) => (conv, prompt_text(&prompt)),
        Step::Done(body) => panic!("expected a challenge, got {body:?}"),
    }
}

#[test]
fn the_prompt_names_teleport_credentials_and_a_tap_with_one_is_allowed() {
    let mut old = teleport_key(RP, b"old");
    let new = teleport_key(RP, b"new");
    let mut u2f = teleport_key(APP_ID, b"u2f");
    let entries = [
        webauthn_entry("old", &old, "2023-01-01T00:00:00Z", 0),
        u2f_entry("legacy", &u2f, "2022-01-01T00:00:00Z"),
        webauthn_entry("new", &new, "2024-01-01T00:00:00Z", 0),
    ]
    .concat();
    let f = Fixture::new(&policy(&entries), "");
    let (conv, text) = challenge(&f);
    let question = text.lines().last().unwrap();
    assert!(question.len() <= 511, "{}", question.len());
    let ids: Vec<String> = [&new, &old, &u2f]
        .iter()
        .map(|k| URL_SAFE_NO_PAD.encode(k.credential_id()))
        .collect();
    assert_eq!(word(question, "cred="), Some(ids.join(",").as_str()));
    assert_eq!(word(question, "rp_id="), Some(RP));
    assert_eq!(word(question, "app_id="), Some(APP_ID));
    assert!(question.ends_with(" answers=named answer: "), "{question}");
    let a = tap(&mut old, question, RP);
    match answer(&f.state, conv, &[a]) {
        Step::Done(ResponseBody::Allow { .. }) => {}
        Step::Done(other) => panic!("{other:?}"),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    // The legacy U2F key signs for the app id, and is allowed too.
    let (conv, text) = challenge(&f);
    let a = tap(&mut u2f, text.lines().last().unwrap(), APP_ID);
    assert!(matches!(
        answer(&f.state, conv, &[a]),
        Step::Done(ResponseBody::Allow { .. })
    ));
}

/// Teleport's login flow requires the touch, and logs a counter behind
/// the one it saw as a clone warning but lets the login go on
/// (lib/auth/webauthn/login.go `finish`).
#[test]
fn silent_assertions_are_refused_and_counters_behind_teleports_only_warn() {
    let mut silent = teleport_key(RP, b"silent");
    silent.user_present = false;
    let mut cloned = teleport_key(RP, b"cloned");
    cloned.counter = 41; // Teleport saw 50: the next assertion says 42
    let entries = [
        webauthn_entry("silent", &silent, "2024-01-01T00:00:00Z", 0),
        webauthn_entry("cloned", &cloned, "2023-01-01T00:00:00Z", 50),
    ]
    .concat();
    let f = Fixture::new(&policy(&entries), "challenge:\n  tries: 3\n");
    let (conv, text) = challenge(&f);
    let a = tap(&mut silent, text.lines().last().unwrap(), RP);
    let Step::Ask(_, again) = answer(&f.state, conv, &[a]) else {
        panic!("a refused tap gets another try")
    };
    let again = prompt_text(&again);
    assert!(again.contains("without a touch"), "{again}");
    // Behind Teleport's counter, twice: allowed, each a clone warning.
    for n in 1..=2 {
        let (conv, text) = challenge(&f);
        let a = tap(&mut cloned, text.lines().last().unwrap(), RP);
        assert!(matches!(
            answer(&f.state, conv, &[a]),
            Step::Done(ResponseBody::Allow { .. })
        ));
        assert_eq!(f.state.signature_counters.clone_warnings(), n);
        cloned.counter = 41;
    }
}

#[test]
fn many_credentials_are_cut_to_fit_pams_message() {
    let keys: Vec<SoftAuthenticator> = (0..12u8).map(|i| teleport_key(RP, &[b'k', i])).collect();
    let entries: String = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            webauthn_entry(
                &format!("k{i}"),
                k,
                &format!("2024-01-{:02}T00:00:00Z", i + 1),
                0,
            )
        })
        .collect();
    let f = Fixture::new(&policy(&entries), "");
    let (_, text) = challenge(&f);
    let question = text.lines().last().unwrap();
    assert!(question.len() <= 511, "{}", question.len());
    let named: Vec<&str> = word(question, "cred=").unwrap().split(',').collect();
    assert!(named.len() >= 3 && named.len() < 12, "{}", named.len());
    // the most recent first: k11, k10, ...
    for (n, id) in named.iter().enumerate() {
        assert_eq!(*id, URL_SAFE_NO_PAD.encode(keys[11 - n].credential_id()));
    }
}
