//! The browser approval page (issue 13) with real components: sshd and the
//! ssh client (the link read from the prompt through SSH_ASKPASS, the answer
//! pasted back), the agent, nginx serving `web/` over HTTPS from loopback,
//! and Debian's chromium driven by playwright-core with the DevTools virtual
//! authenticator holding a credential registered for the user.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, WEBAUTHN_RP_ID};
use pam_mfa_e2e::approval_web::{drive_page, PageServer, TestCredential};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::{json, Value};

const PAGE_HOST: &str = "approve.e2e.example.com";
/// Under the rp_id too, so WebAuthn works there, but not the approval origin.
const OTHER_HOST: &str = "other.e2e.example.com";
/// Not under the rp_id.
const FOREIGN_HOST: &str = "approve.example.net";

/// Askpass that hands each prompt to the test and waits for its answer:
/// `prompt.N` out, `answer.N` in (N counts the prompts of one login).
const ASKPASS: &str = r#"#!/bin/sh
d=$(dirname "$0")
[ "${SSH_ASKPASS_PROMPT:-}" = none ] && exit 0
n=0
while [ -e "$d/prompt.$n" ]; do n=$((n+1)); done
printf '%s' "$1" > "$d/prompt.tmp" && mv "$d/prompt.tmp" "$d/prompt.$n"
i=0
while [ ! -e "$d/answer.$n" ]; do
  sleep 0.1; i=$((i+1)); [ $i -gt 900 ] && exit 1
done
cat "$d/answer.$n"
"#;

struct World {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    plain: SshKey,
    page: PageServer,
    cred: TestCredential,
    work: WorkDir,
}

fn world(label: &str, challenge_yaml: &str) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let page = PageServer::start(&work, &[PAGE_HOST, OTHER_HOST, FOREIGN_HOST]);
    let cred = TestCredential::from_seed(7);
    let b = bundle(&user.name, "false", "true", &[]).raw(&cred.device_doc(&user.name));
    let service = unique_name("sshd-mfat");
    let mut cfg = AgentConfig::with_env("prod").service(&service, "ssh");
    cfg.extra_yaml = format!(
        "approval_url: https://{PAGE_HOST}:{}/\n{challenge_yaml}",
        page.port
    );
    let agent = Agent::start(&work, &cfg, &b);
    let sshd = Sshd::start(
        &work,
        &SshdOptions::new(&sshd_stack(&agent.socket, ""))
            .keys_from_agent(&agent.socket)
            .service_name(&service),
    );
    World {
        sshd,
        agent,
        user,
        plain,
        page,
        cred,
        work,
    }
}

/// One login in progress: its prompts come out as files.
struct Prompts {
    dir: PathBuf,
}

impl Prompts {
    fn wait(&self, n: usize) -> String {
        let p = self.dir.join(format!("prompt.{n}"));
        assert!(
            wait_until(Duration::from_secs(30), Duration::from_millis(50), || p
                .exists()),
            "no prompt {n}"
        );
        std::fs::read_to_string(p).unwrap()
    }

    fn answer(&self, n: usize, text: &str) {
        let tmp = self.dir.join("answer.tmp");
        std::fs::write(&tmp, format!("{text}\n")).unwrap();
        std::fs::rename(tmp, self.dir.join(format!("answer.{n}"))).unwrap();
    }
}

impl World {
    /// Runs one ssh login; `drive` gets its prompts and answers them.
    fn login(&self, drive: impl FnOnce(&Prompts)) -> SshOutcome {
        let dir = self.work.subdir(&unique_name("ask-"), 0o700);
        let askpass = dir.join("askpass");
        std::fs::write(&askpass, ASKPASS).unwrap();
        std::fs::set_permissions(
            &askpass,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut l = SshLogin::new(self.sshd.port, &self.user.name, &self.plain);
        l.timeout = Duration::from_secs(120);
        l.extra_env
            .push(("SSH_ASKPASS".into(), askpass.display().to_string()));
        let prompts = Prompts { dir };
        std::thread::scope(|s| {
            let ssh = s.spawn(|| l.run(&self.work, "id -un"));
            drive(&prompts);
            ssh.join().unwrap()
        })
    }

    fn evidence(&self, out: &SshOutcome) -> String {
        format!(
            "{}\n--- audit\n{}\n--- agent log\n{}\n--- nginx\n{}",
            out.describe(),
            self.agent.audit_text(),
            self.agent.log(),
            self.page.error_log()
        )
    }

    /// Drives the page at `url` in chromium.
    fn browse(&self, url: &str, mode: &str, extra: Value) -> Value {
        let mut args = json!({
            "url": url,
            "hosts": [PAGE_HOST, OTHER_HOST, FOREIGN_HOST],
            "spki": self.page.spki,
            "mode": mode,
            "credential": self.cred.for_browser(WEBAUTHN_RP_ID),
        });
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        drive_page(&args)
    }

    fn last_refusal(&self) -> String {
        self.agent
            .audit_events()
            .into_iter()
            .rev()
            .find(|e| e["event"] == "answer_refused")
            .map(|e| e["reason"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    }

    fn last_auth(&self) -> Value {
        self.agent
            .audit_events()
            .into_iter()
            .rev()
            .find(|e| {
                e["event"] == "decision"
                    && e["hook"] == "auth"
                    && e["login"] == self.user.name.as_str()
            })
            .unwrap_or_default()
    }
}

/// The link in a prompt (the info message sshd joins to the prompt).
fn link_in(prompt: &str) -> String {
    let start = prompt
        .find("https://")
        .unwrap_or_else(|| panic!("no link in the prompt: {prompt}"));
    prompt[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn docs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name)
}

#[test]
fn a_prod_login_is_approved_in_the_browser_and_misuse_is_refused() {
    require_root!();
    let w = world("approval-page", "challenge:\n  tries: 1\n");

    // 1. The link is in the prompt; the page, driven by keyboard alone with
    // the virtual authenticator, gives the answer; the login completes.
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

    // 2. The same answer again, on a new login: refused as already used.
    let out = w.login(|p| {
        p.wait(0);
        p.answer(0, &first_answer);
    });
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        w.last_refusal().contains("already used"),
        "{}",
        w.evidence(&out)
    );

    // 3. Chrome's long clientDataJSON member (the page's key signs in the
    // page, as an authenticator would): the answer still fits, and verifies.
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

    // 4. The page opened on another origin (under the rp_id, so the
    // browser signs): the agent refuses it, saying why.
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
            .contains("no credential registered"),
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
