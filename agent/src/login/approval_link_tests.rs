//! The approval page in the conversation, in-process: the link in the
//! prompt (within PAM's limit), `approval_url` against the rp_id, and a
//! page answer verified with the approval origin.

use std::time::{Duration, Instant};

use pam_mfa_protocol::{PamHook, PromptStyle, ResponseBody};
use sha2::{Digest, Sha256};

use super::approval_link::approval_status;
use super::conversation::answer;
use super::flow_tests::{prompt_text, Fixture, ALLOW};
use super::tap::Step;
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::{Authenticator, GetAssertionRequest};
use crate::verify::webauthn_browser::{encode_browser_answer, template_prefix};

pub(super) const RP: &str = "example.test";
pub(super) const PAGE: &str = "https://approve.example.test";

/// alice (login root) needs a tap on prod3; `keys` WebAuthn credentials
/// registered for her.
pub(super) fn policy(keys: &[SoftAuthenticator]) -> String {
    let mut p = String::from(
        "kind: role\nversion: v7\nmetadata: {name: prod}\nspec:\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: prod}\n  options:\n    require_session_mfa: true\n---\n\
         kind: user\nversion: v2\nmetadata: {name: alice}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec:\n  type: local\n  second_factor: on\n  webauthn:\n    rp_id: example.test\n",
    );
    for (i, k) in keys.iter().enumerate() {
        let spec = k.registration();
        p.push_str(&format!(
            "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: alice-key{i}}}\nspec:\n  user: alice\n  webauthn:\n    credential_id: {}\n    public_key_cbor: {}\n",
            spec["credential_id"].as_str().unwrap(),
            spec["public_key_cbor"].as_str().unwrap()
        ));
    }
    p
}

pub(super) fn keys(n: u8) -> Vec<SoftAuthenticator> {
    (0..n)
        .map(|i| SoftAuthenticator::from_seed(RP, &[b'k', i]))
        .collect()
}

/// The approval links of a prompt, each an info message within PAM's
/// limit, all together right before the answer prompt (sshd shows info
/// text joined to the next prompt).
pub(super) fn links_of(body: &ResponseBody) -> Vec<String> {
    let ResponseBody::Prompt { prompts } = body else {
        panic!("expected a prompt, got {body:?}")
    };
    assert!(prompts.len() <= 32, "{} messages", prompts.len());
    let at: Vec<usize> = (0..prompts.len())
        .filter(|&i| {
            prompts[i]
                .text
                .starts_with("pam-mfa: or approve in a browser")
        })
        .collect();
    for (n, &i) in at.iter().enumerate() {
        let p = &prompts[i];
        assert_eq!(p.style, PromptStyle::Info);
        assert!(p.text.len() <= 511, "{} bytes", p.text.len());
        let next = &prompts[i + 1];
        if n + 1 == at.len() {
            assert_eq!(next.style, PromptStyle::EchoOn);
        } else {
            assert_eq!(at[n + 1], i + 1, "links apart");
        }
    }
    at.iter().map(|&i| prompts[i].text.clone()).collect()
}

fn link_of(body: &ResponseBody) -> Option<String> {
    links_of(body).into_iter().next()
}

/// The fragment value `name` of a link.
pub(super) fn link_value<'a>(link: &'a str, name: &str) -> &'a str {
    let frag = link.split_once('#').unwrap().1;
    frag.split('&')
        .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("")
}

#[test]
fn the_prompt_links_the_page_within_pams_limit() {
    use base64::Engine;
    let ks = keys(12);
    let f = Fixture::new(
        &policy(&ks),
        &format!("approval_url: {PAGE}/pam-mfa/index.html\n"),
    );
    let Step::Ask(_, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    let links = links_of(&prompt);
    let challenge = crate::challenge::find_challenge(&prompt_text(&prompt)).unwrap();
    // Twelve ids do not fit one message: several links, each labelled.
    assert!(links.len() > 1, "{links:?}");
    for link in &links {
        assert!(
            link.starts_with(&format!(
                "pam-mfa: or approve in a browser (keys of alice): {PAGE}/pam-mfa/index.html#c={}&e=1800000120&r=example.test&o=https:%2F%2Fapprove.example.test&s=sshd&h=10.0.0.1&u=alice&k=",
                challenge.text
            )),
            "{link}"
        );
    }
    // Every id once, in the bundle's order; none cut.
    let ids: Vec<&str> = links
        .iter()
        .flat_map(|l| link_value(l, "k").split(','))
        .collect();
    let want: Vec<String> = ks
        .iter()
        .map(|k| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.credential_id()))
        .collect();
    assert_eq!(ids, want);
    assert!(approval_status(&f.state)
        .unwrap()
        .contains("origin https://approve.example.test"));
}

#[test]
fn a_page_outside_the_rp_id_shows_no_link_and_says_why() {
    let f = Fixture::new(
        &policy(&keys(1)),
        "approval_url: https://approve.example.org/\n",
    );
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    assert_eq!(link_of(&prompt), None);
    assert!(
        conv.verdict
            .reason
            .contains("is not the cluster's webauthn.rp_id"),
        "{}",
        conv.verdict.reason
    );
    let status = approval_status(&f.state).unwrap();
    assert!(status.contains("NOT SHOWN"), "{status}");
}

/// The page's answer for `conv`'s challenge made on `origin` by `key`.
pub(super) fn page_answer(key: &mut SoftAuthenticator, challenge: &str, origin: &str) -> String {
    let cd = format!("{}}}", template_prefix(challenge, origin));
    let r = key
        .get_assertion(
            &GetAssertionRequest {
                rp_id: RP.into(),
                client_data_hash: Sha256::digest(cd.as_bytes()).into(),
                allow_credentials: vec![key.credential_id().to_vec()],
                user_verification: false,
                pin_uv_auth: None,
            },
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
    encode_browser_answer(
        &r.credential_id,
        &r.authenticator_data,
        &r.signature,
        cd.as_bytes(),
        challenge,
        origin,
    )
}

#[test]
fn a_page_answer_verifies_with_the_approval_origin_only() {
    let mut ks = keys(1);
    let f = Fixture::new(&policy(&ks), &format!("approval_url: {PAGE}/\n"));
    let ask = || match f.begin(PamHook::Auth, None, "10.0.0.1") {
        Step::Ask(conv, prompt) => {
            let c = crate::challenge::find_challenge(&prompt_text(&prompt)).unwrap();
            (conv, c.text)
        }
        _ => panic!("expected a challenge"),
    };
    // made on another origin: refused, saying so
    let (conv, text) = ask();
    let line = page_answer(&mut ks[0], &text, "https://evil.example.test");
    match answer(&f.state, conv, &[line]) {
        Step::Ask(_, again) => {
            let t = prompt_text(&again);
            assert!(t.contains("another origin than the approval page"), "{t}");
        }
        _ => panic!("a refused answer gets another try"),
    }
    // made on the page: allowed
    let (conv, text) = ask();
    let line = page_answer(&mut ks[0], &text, PAGE);
    match answer(&f.state, conv, std::slice::from_ref(&line)) {
        Step::Done(body) => assert_eq!(body, ALLOW),
        _ => panic!("expected the login allowed"),
    }
    // the same answer on the next login: already used
    let (conv, _) = ask();
    match answer(&f.state, conv, &[line]) {
        Step::Ask(_, again) => {
            let t = prompt_text(&again);
            assert!(t.contains("already used"), "{t}");
        }
        _ => panic!("a refused answer gets another try"),
    }
}

#[test]
fn without_approval_url_page_answers_are_refused() {
    let mut ks = keys(1);
    let f = Fixture::new(&policy(&ks), "");
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
        panic!("expected a challenge")
    };
    assert_eq!(link_of(&prompt), None);
    assert_eq!(approval_status(&f.state), None);
    let text = crate::challenge::find_challenge(&prompt_text(&prompt))
        .unwrap()
        .text;
    let line = page_answer(&mut ks[0], &text, PAGE);
    match answer(&f.state, conv, &[line]) {
        Step::Ask(_, again) => {
            let t = prompt_text(&again);
            assert!(t.contains("shows no approval page"), "{t}");
        }
        _ => panic!("a refused answer gets another try"),
    }
}

/// alice with Teleport `local_auth` keys: one that signs without a touch,
/// one whose counter is behind the 50 Teleport last saw (a clone), and a
/// legacy U2F key (it signs for the app id, which the page does not ask).
fn teleport_policy(
    silent: &SoftAuthenticator,
    cloned: &SoftAuthenticator,
    u2f: &SoftAuthenticator,
) -> String {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let webauthn = |name: &str, k: &SoftAuthenticator, counter: u32| {
        format!(
            "    - kind: mfa_device\n      version: v1\n      metadata: {{name: {name}}}\n      id: id-{name}\n      addedAt: \"2024-01-01T00:00:00Z\"\n      webauthn:\n        credentialId: {}\n        publicKeyCbor: {}\n        signatureCounter: {counter}\n",
            STANDARD.encode(k.credential_id()),
            STANDARD.encode(k.public_key_cose())
        )
    };
    let legacy = format!(
        "    - kind: mfa_device\n      version: v1\n      metadata: {{name: legacy}}\n      id: id-legacy\n      addedAt: \"2025-01-01T00:00:00Z\"\n      u2f:\n        keyHandle: {}\n        pubKey: {}\n        counter: 0\n",
        STANDARD.encode(u2f.credential_id()),
        STANDARD.encode(u2f.public_key_spki_der())
    );
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: true\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: webauthn\n  webauthn: {{rp_id: {RP}}}\n  u2f: {{app_id: \"https://{RP}:3080\"}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n  local_auth:\n    mfa:\n{}{}{legacy}",
        webauthn("silent", silent, 0),
        webauthn("cloned", cloned, 50)
    )
}

/// The page's answers are held to what a `mfactl tap` WebAuthn answer is:
/// a touch; a counter behind Teleport's is a clone warning, not a refusal
/// (lib/auth/webauthn/login.go `finish`); a U2F key is not offered.
#[test]
fn page_answers_need_a_touch_and_a_counter_behind_teleports_only_warns() {
    let mut silent = SoftAuthenticator::from_seed(RP, b"silent");
    silent.user_present = false;
    let mut cloned = SoftAuthenticator::from_seed(RP, b"cloned");
    cloned.counter = 41; // Teleport saw 50: the next assertion says 42
    let u2f = SoftAuthenticator::from_seed(&format!("https://{RP}:3080"), b"u2f");
    let f = Fixture::new(
        &teleport_policy(&silent, &cloned, &u2f),
        &format!("approval_url: {PAGE}/\nchallenge:\n  tries: 3\n"),
    );
    for (key, refused) in [(&mut silent, Some("without a touch")), (&mut cloned, None)] {
        let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
            panic!("expected a challenge")
        };
        // The link offers the two WebAuthn keys, not the U2F one.
        use base64::Engine;
        let b64 = |k: &SoftAuthenticator| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.credential_id())
        };
        let link = link_of(&prompt).expect("a link");
        assert!(!link.contains(&b64(&u2f)), "{link}");
        assert!(link.contains(&b64(key)), "{link}");
        let text = crate::challenge::find_challenge(&prompt_text(&prompt))
            .unwrap()
            .text;
        let line = page_answer(key, &text, PAGE);
        match (answer(&f.state, conv, &[line]), refused) {
            (Step::Ask(_, again), Some(words)) => {
                let again = prompt_text(&again);
                assert!(again.contains(words), "{again}");
            }
            (Step::Done(ResponseBody::Allow { .. }), None) => {
                assert_eq!(f.state.signature_counters.clone_warnings(), 1);
            }
            (Step::Done(body), _) => panic!("{refused:?}: {body:?}"),
            (Step::Ask(..), None) => panic!("a counter behind Teleport's was refused"),
        }
    }
}

/// The page's answers are held to the backup-eligible flag Teleport
/// recorded, as `mfactl tap` answers are (go-webauthn `validateLogin`:
/// a BE other than the recorded one is refused).
#[test]
fn page_answers_are_held_to_teleports_recorded_backup_flag() {
    let silent = SoftAuthenticator::from_seed(RP, b"silent");
    let u2f = SoftAuthenticator::from_seed(&format!("https://{RP}:3080"), b"u2f");
    for (asserted, allowed) in [(false, false), (true, true)] {
        let mut passkey = SoftAuthenticator::from_seed(RP, b"cloned");
        passkey.counter = 60;
        passkey.backup_eligible = asserted;
        // Teleport recorded the "cloned" entry backup-eligible.
        let policy = teleport_policy(&silent, &passkey, &u2f).replace(
            "signatureCounter: 50\n",
            "signatureCounter: 50\n        credentialBackupEligible: true\n",
        );
        assert!(policy.contains("credentialBackupEligible: true"));
        let f = Fixture::new(&policy, &format!("approval_url: {PAGE}/\n"));
        let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, None, "10.0.0.1") else {
            panic!("expected a challenge")
        };
        let text = crate::challenge::find_challenge(&prompt_text(&prompt))
            .unwrap()
            .text;
        let line = page_answer(&mut passkey, &text, PAGE);
        match (answer(&f.state, conv, &[line]), allowed) {
            (Step::Done(ResponseBody::Allow { .. }), true) => {}
            (Step::Ask(_, again), false) => {
                let again = prompt_text(&again);
                assert!(
                    again.contains("Teleport recorded it backup-eligible"),
                    "{again}"
                );
            }
            (Step::Done(body), _) => panic!("{asserted}: {body:?}"),
            (Step::Ask(_, again), true) => panic!("{}", prompt_text(&again)),
        }
    }
}

/// A page answer for sudo under plain `hardware_key` is held to what a
/// `mfactl tap` answer is: the tap stands for the hardware key, so a
/// credential signing backup-eligible (a synced passkey) is refused,
/// naming it, and one bound to its key is allowed.
#[test]
fn a_page_answer_from_a_synced_passkey_is_no_hardware_key_for_sudo() {
    for (synced, allowed) in [(true, false), (false, true)] {
        let mut ks = keys(1);
        ks[0].backup_eligible = synced;
        let bundle = policy(&ks).replace(
            "require_session_mfa: true",
            "require_session_mfa: hardware_key",
        );
        let f = Fixture::new(
            &bundle,
            &format!("approval_url: {PAGE}/\nattached_keys:\n  enabled: false\n"),
        );
        let Step::Ask(conv, prompt) = f.begin_service_from("sudo", PamHook::Auth, 1, Some("root"))
        else {
            panic!("expected a challenge")
        };
        assert!(link_of(&prompt).is_some(), "no page link");
        let text = crate::challenge::find_challenge(&prompt_text(&prompt))
            .unwrap()
            .text;
        let line = page_answer(&mut ks[0], &text, PAGE);
        match (answer(&f.state, conv, &[line]), allowed) {
            (Step::Done(body), true) => assert_eq!(body, ALLOW),
            (Step::Ask(_, again), false) => {
                let again = prompt_text(&again);
                assert!(again.contains("alice-key0 is a synced passkey"), "{again}");
                assert!(again.contains("needs hardware_key:"), "{again}");
            }
            (Step::Done(body), false) => panic!("{body:?}"),
            (Step::Ask(_, again), true) => panic!("{}", prompt_text(&again)),
        }
    }
}
