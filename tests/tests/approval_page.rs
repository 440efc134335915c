//! The browser approval page (issue 13) with real components: sshd and the
//! ssh client (the link read from the prompt through SSH_ASKPASS, the answer
//! pasted back), the agent, nginx serving `web/` over HTTPS from loopback,
//! and Debian's chromium driven by playwright-core with the DevTools virtual
//! authenticator holding a credential registered for the user.

mod common;
#[path = "approval_page/world.rs"]
mod world;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pam_mfa_e2e::agent::WEBAUTHN_RP_ID;
use pam_mfa_e2e::approval_web::TestCredential;
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::require_root;
use serde_json::json;
use world::{
    link_in, links_in, world, world_with_keys, World, FOREIGN_HOST, OTHER_HOST, PAGE_HOST,
};

/// Where the test saves its screenshots: `target/screenshots/`, or
/// `docs/` (the pictures the README shows) with `PAM_MFA_UPDATE_DOCS=1`, so
/// an ordinary run leaves the tree clean.
fn docs(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = if std::env::var_os("PAM_MFA_UPDATE_DOCS").is_some_and(|v| v == "1") {
        root.join("docs")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir.join(name)
}

#[test]
fn a_prod_login_is_approved_in_the_browser_and_misuse_is_refused() {
    require_root!();
    let w = world("approval-page", "challenge:\n  tries: 1\n");
    let answer = approved_by_keyboard(&w);
    replay_is_refused(&w, &answer);
    chromes_long_member_fits(&w);
    another_origin_is_refused(&w);
}

/// The link is in the prompt; the page, driven by keyboard alone with the
/// virtual authenticator, gives the answer; the login completes. Returns
/// the answer.
fn approved_by_keyboard(w: &World) -> String {
    let mut first_answer = String::new();
    let out = w.login(|p| {
        let prompt = p.wait(0);
        assert!(prompt.contains("answer: "), "{prompt}");
        let link = link_in(&prompt);
        assert!(link.len() < 512, "{link}");
        assert!(
            link.starts_with(&format!("https://{PAGE_HOST}:{}/#c=pmfa1:", w.page.port)),
            "{link}"
        );
        let id = base64_url(&w.cred.id);
        assert!(link.contains(&format!("&k={id}")), "{link}");
        assert!(link.contains(&format!("&u={}", w.user.name)), "{link}");
        let r = w.browse(
            &link,
            "authenticator",
            json!({"screenshot": docs("approval-page.png")}),
        );
        let before = &r["before"];
        assert_eq!(before["node"], "e2e-prod", "{r}");
        assert_eq!(before["login"], w.user.name.as_str(), "{r}");
        assert_eq!(before["user"], w.user.name.as_str(), "{r}");
        assert!(
            before["countdown"].as_str().unwrap().starts_with("in "),
            "{r}"
        );
        assert_eq!(before["focused"], "approve", "{r}");
        let after = &r["after"];
        first_answer = after["answer"].as_str().unwrap_or("").to_string();
        assert!(first_answer.starts_with("wb1."), "{r}");
        assert!(first_answer.len() <= 512, "{}", first_answer.len());
        assert_eq!(after["focused"], "copy", "{r}");
        assert_eq!(r["pageErrors"], json!([]), "{r}");
        p.answer(0, &first_answer);
    });
    assert!(out.success(), "{}", w.evidence(&out));
    assert_eq!(out.stdout().trim(), w.user.name, "{}", w.evidence(&out));
    let auth = w.last_auth();
    assert_eq!(auth["result"], "allow", "{auth}");
    assert_eq!(auth["evidence"], "tap_webauthn_touch", "{auth}");
    // The fragment never reached the web server.
    let served = w.page.access_log();
    assert!(served.contains("GET / "), "{served}");
    assert!(!served.contains("pmfa1"), "{served}");
    first_answer
}

/// The same answer again, on a new login: refused as already used.
fn replay_is_refused(w: &World, answer: &str) {
    let out = w.login(|p| {
        p.wait(0);
        p.answer(0, answer);
    });
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        w.last_refusal().contains("already used"),
        "{}",
        w.evidence(&out)
    );
}

/// Chrome's long clientDataJSON member (the credential's key signs in the
/// page, as an authenticator would): the answer still fits, and verifies.
fn chromes_long_member_fits(w: &World) {
    let out = w.login(|p| {
        let link = link_in(&p.wait(0));
        let r = w.browse(&link, "chrome-extra", json!({"counter": 1000}));
        let answer = r["after"]["answer"].as_str().unwrap_or("").to_string();
        assert_eq!(answer.split('.').nth(5), Some("c"), "{r}");
        assert!(answer.len() <= 512, "{}", answer.len());
        p.answer(0, &answer);
    });
    assert!(out.success(), "{}", w.evidence(&out));
    assert_eq!(w.last_auth()["evidence"], "tap_webauthn_touch_and_pin");
}

/// The page opened on another origin (under the rp_id, so the browser
/// signs): the agent refuses it, saying why.
fn another_origin_is_refused(w: &World) {
    let out = w.login(|p| {
        let link = link_in(&p.wait(0)).replace(PAGE_HOST, OTHER_HOST);
        let r = w.browse(&link, "authenticator", json!({}));
        let answer = r["after"]["answer"].as_str().unwrap_or("").to_string();
        assert!(answer.starts_with("wb1."), "{r}");
        p.answer(0, &answer);
    });
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    let why = w.last_refusal();
    assert!(
        why.contains("another origin than the approval page"),
        "{why}\n{}",
        w.evidence(&out)
    );
}

/// A person with six roaming keys (64-byte credential ids): the one the
/// browser holds is not among the first link's ids (one link held only
/// about two, and the page could not use the others), yet it is in a link
/// of its own labelled with the person, and in the `cred=`/`cred+=` words
/// mfactl tap reads; the page approves with it and the login is let in.
/// The page shows the service and the source address, as the link's
/// unverified words.
#[test]
fn a_key_beyond_the_first_link_approves_in_the_browser() {
    require_root!();
    let w = world_with_keys("approval-many-keys", "challenge:\n  tries: 1\n", 5);
    let out = w.login(|p| {
        let prompt = p.wait(0);
        let links = links_in(&prompt);
        assert!(links.len() > 1, "{prompt}");
        assert!(links.iter().all(|l| l.len() < 512), "{prompt}");
        let id = base64_url(&w.cred.id);
        assert!(!links[0].contains(&id), "{prompt}");
        let mine: Vec<&String> = links.iter().filter(|l| l.contains(&id)).collect();
        assert_eq!(mine.len(), 1, "{prompt}");
        assert!(
            prompt.contains(&format!("(keys of {}): https://", w.user.name)),
            "{prompt}"
        );
        // mfactl tap's words name all six ids, the browser's among them.
        let cred_ids: Vec<&str> = prompt
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("cred=").or(w.strip_prefix("cred+=")))
            .flat_map(|list| list.split(','))
            .collect();
        assert_eq!(cred_ids.len(), 6, "{prompt}");
        assert!(cred_ids.contains(&id.as_str()), "{prompt}");
        assert!(prompt.contains(" cred_more="), "{prompt}");
        let r = w.browse(mine[0], "authenticator", json!({}));
        let before = &r["before"];
        assert_eq!(before["user"], w.user.name.as_str(), "{r}");
        assert_eq!(before["rhost"], "127.0.0.1", "{r}");
        assert!(
            before["service"].as_str().unwrap_or("").starts_with("sshd"),
            "{r}"
        );
        let answer = r["after"]["answer"].as_str().unwrap_or("").to_string();
        assert!(answer.starts_with("wb1."), "{r}");
        assert_eq!(r["pageErrors"], json!([]), "{r}");
        p.answer(0, &answer);
    });
    assert!(out.success(), "{}", w.evidence(&out));
    assert_eq!(out.stdout().trim(), w.user.name, "{}", w.evidence(&out));
    let auth = w.last_auth();
    assert_eq!(auth["result"], "allow", "{auth}");
    assert!(
        auth["reason"]
            .as_str()
            .unwrap_or("")
            .contains("browser-key"),
        "{auth}"
    );
}

#[test]
fn an_expired_challenge_is_refused() {
    require_root!();
    let w = world("approval-expired", "challenge:\n  tries: 1\n  ttl: 5s\n");
    let out = w.login(|p| {
        let link = link_in(&p.wait(0));
        let frag = link.split_once('#').unwrap().1;
        let challenge = frag
            .split('&')
            .find_map(|kv| kv.strip_prefix("c="))
            .unwrap()
            .to_string();
        // A valid page answer (Chrome's form), made at once, pasted late.
        let answer = page_answer(
            &w.cred,
            &challenge,
            &format!("https://{PAGE_HOST}:{}", w.page.port),
        );
        let expires: u64 = frag
            .split('&')
            .find_map(|kv| kv.strip_prefix("e="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait_until(
            Duration::from_secs(30),
            Duration::from_millis(200),
            || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    > expires
            }
        ));
        p.answer(0, &answer);
    });
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(w.last_refusal().contains("expired"), "{}", w.evidence(&out));
}

/// The page's errors: no WebAuthn, no matching credential, an expired
/// link, a wrong origin; and how it looks at phone width.
#[test]
fn the_page_explains_what_it_cannot_do() {
    require_root!();
    let w = world("approval-errors", "");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let link = |host: &str, expires: u64| {
        format!(
            "https://{host}:{}/#c=pmfa1:e2e-prod:{u}:AAAAAAAAAAAAAAAAAAAAAA&u={u}&e={expires}&r={WEBAUTHN_RP_ID}&k={}",
            w.page.port,
            base64_url(&w.cred.id),
            u = w.user.name
        )
    };
    let fresh = link(PAGE_HOST, now + 600);

    // mfactl status names the page and the origin answers must come from.
    let status = w.agent.mfactl(&["status"]);
    let want = format!(
        "approval page:   https://{PAGE_HOST}:{}/ (origin https://{PAGE_HOST}:{}, rp_id {WEBAUTHN_RP_ID})",
        w.page.port, w.page.port
    );
    assert!(status.stdout.contains(&want), "{}", status.stdout);

    let r = w.browse(&fresh, "no-webauthn", json!({}));
    assert!(
        r["before"]["error"]
            .as_str()
            .unwrap()
            .contains("no WebAuthn"),
        "{r}"
    );

    let r = w.browse(&fresh, "stranger", json!({}));
    assert!(
        r["after"]["error"]
            .as_str()
            .unwrap()
            .contains("not one of the keys this link lists"),
        "{r}"
    );

    let r = w.browse(&link(PAGE_HOST, now - 5), "look", json!({}));
    assert!(
        r["before"]["error"].as_str().unwrap().contains("expired"),
        "{r}"
    );

    let r = w.browse(&link(FOREIGN_HOST, now + 600), "look", json!({}));
    assert!(
        r["before"]["error"]
            .as_str()
            .unwrap()
            .contains("Wrong origin"),
        "{r}"
    );

    let r = w.browse(
        &fresh,
        "look",
        json!({"viewport": {"width": 390, "height": 780}, "screenshot": docs("approval-page-phone.png")}),
    );
    assert_eq!(r["before"]["error"], "", "{r}");
    assert_eq!(r["before"]["focused"], "approve", "{r}");
    assert_eq!(r["pageErrors"], json!([]), "{r}");
    // served with the policy README tells people to send
    assert_eq!(r["csp"], pam_mfa_e2e::approval_web::CSP_HEADER, "{r}");
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The answer the page makes for Chrome's clientDataJSON, signed by `cred`.
fn page_answer(cred: &TestCredential, challenge: &str, origin: &str) -> String {
    use mfa_agent::verify::webauthn_browser::{encode_browser_answer, template_prefix};
    use sha2::{Digest, Sha256};
    let client_data = format!("{}}}", template_prefix(challenge, origin));
    let mut ad = Sha256::digest(WEBAUTHN_RP_ID.as_bytes()).to_vec();
    ad.push(0x01);
    ad.extend_from_slice(&5u32.to_be_bytes());
    let sig = cred.sign(&ad, client_data.as_bytes());
    encode_browser_answer(
        &cred.id,
        &ad,
        &sig,
        client_data.as_bytes(),
        challenge,
        origin,
    )
}
