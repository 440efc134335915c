//! The scene of the approval page tests: a prod node (sshd, the agent with
//! `approval_url`), nginx serving the page, a credential registered for the
//! user, and ssh logins whose prompts the test answers.

use std::path::PathBuf;
use std::time::Duration;

use pam_mfa_e2e::agent::{Agent, AgentConfig, WEBAUTHN_RP_ID};
use pam_mfa_e2e::approval_web::{drive_page, PageServer, TestCredential};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::{json, Value};

use super::common::bundle;

pub const PAGE_HOST: &str = "approve.e2e.example.com";
/// Under the rp_id too, so WebAuthn works there, but not the approval origin.
pub const OTHER_HOST: &str = "other.e2e.example.com";
/// Not under the rp_id.
pub const FOREIGN_HOST: &str = "approve.example.net";

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

pub struct World {
    pub sshd: Sshd,
    pub agent: Agent,
    pub user: TestUser,
    pub plain: SshKey,
    pub page: PageServer,
    pub cred: TestCredential,
    pub work: WorkDir,
}

pub fn world(label: &str, challenge_yaml: &str) -> World {
    world_with_keys(label, challenge_yaml, 0)
}

/// As [`world`], the user also holding `other_keys` registered WebAuthn
/// keys before the browser's (listed first); with any, every key has a
/// 64-byte credential id, as roaming keys make them.
pub fn world_with_keys(label: &str, challenge_yaml: &str, other_keys: u8) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let page = PageServer::start(&work, &[PAGE_HOST, OTHER_HOST, FOREIGN_HOST]);
    let mut cred = TestCredential::from_seed(7);
    let mut b = bundle(&user.name, "false", "true", &[]);
    if other_keys > 0 {
        cred.id = vec![0x77; 64];
    }
    for i in 0..other_keys {
        let mut other = TestCredential::from_seed(20 + i);
        other.id = vec![0x20 + i; 64];
        let doc = other
            .device_doc(&user.name)
            .replace("-browser-key}", &format!("-key{i}}}"));
        b = b.raw(&doc);
    }
    let b = b.raw(&cred.device_doc(&user.name));
    let mut cfg = AgentConfig::with_env("prod");
    cfg.extra_yaml = format!(
        "approval_url: https://{PAGE_HOST}:{}/\n{challenge_yaml}",
        page.port
    );
    let MfaSshd { agent, sshd, .. } = MfaSshd::start(&work, cfg, &b);
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
pub struct Prompts {
    dir: PathBuf,
}

impl Prompts {
    pub fn wait(&self, n: usize) -> String {
        let p = self.dir.join(format!("prompt.{n}"));
        assert!(
            wait_until(Duration::from_secs(30), Duration::from_millis(50), || p
                .exists()),
            "no prompt {n}"
        );
        std::fs::read_to_string(p).unwrap()
    }

    pub fn answer(&self, n: usize, text: &str) {
        let tmp = self.dir.join("answer.tmp");
        std::fs::write(&tmp, format!("{text}\n")).unwrap();
        std::fs::rename(tmp, self.dir.join(format!("answer.{n}"))).unwrap();
    }
}

impl World {
    /// Runs one ssh login; `drive` gets its prompts and answers them.
    pub fn login(&self, drive: impl FnOnce(&Prompts)) -> SshOutcome {
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

    pub fn evidence(&self, out: &SshOutcome) -> String {
        format!(
            "{}\n{}\n--- nginx\n{}",
            out.describe(),
            self.agent.evidence(),
            self.page.error_log()
        )
    }

    /// Drives the page at `url` in chromium.
    pub fn browse(&self, url: &str, mode: &str, extra: Value) -> Value {
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

    pub fn last_refusal(&self) -> String {
        self.agent
            .audit_events()
            .into_iter()
            .rev()
            .find(|e| e["event"] == "answer_refused")
            .map(|e| e["reason"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    }

    pub fn last_auth(&self) -> Value {
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

/// Every link in a prompt, in order.
pub fn links_in(prompt: &str) -> Vec<String> {
    prompt
        .split_whitespace()
        .filter(|w| w.starts_with("https://"))
        .map(str::to_string)
        .collect()
}

/// The link in a prompt (the info message sshd joins to the prompt).
pub fn link_in(prompt: &str) -> String {
    let start = prompt
        .find("https://")
        .unwrap_or_else(|| panic!("no link in the prompt: {prompt}"));
    prompt[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
