//! What the host_keys tests share: cards attested under the test root, the
//! bundle and a world of an agent reaching the software PIV card through
//! pcscd (its own namespace), and a login-class PAM service to run.

use std::path::Path;
use std::time::Duration;

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::pam_stack::{HarnessOutcome, HarnessRun, PamStack};
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::piv_card::tools::{ok, ykpiv};
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

pub(crate) const CARD: &str = env!("CARGO_BIN_EXE_piv-card");
pub(crate) const SERIAL: u32 = 24_681_357;
pub(crate) const PIN: &str = "123456";
pub(crate) const CUE: &str = "Tap your security key";

/// Generates a P-256 key in `slot` with the policies and returns its
/// attestation chain as an `attestation_chain` YAML list (slot, F9).
pub(crate) fn attested(env: &PcscEnv, slot: &str, touch: &str, pin: &str) -> String {
    let dir = env.dir();
    let p = |n: &str| dir.join(format!("{slot}-{n}")).display().to_string();
    let (public, att, f9) = (p("pub.pem"), p("att.pem"), p("f9.pem"));
    let touch = format!("--touch-policy={touch}");
    let pin = format!("--pin-policy={pin}");
    ok(
        &ykpiv(
            env,
            &[
                "-a", "generate", "-A", "ECCP256", "-s", slot, &touch, &pin, "-o", &public,
            ],
        ),
        "generate",
        env,
    );
    ok(
        &ykpiv(env, &["-a", "attest", "-s", slot, "-o", &att]),
        "attest",
        env,
    );
    ok(
        &ykpiv(env, &["-a", "read-certificate", "-s", "f9", "-o", &f9]),
        "read f9",
        env,
    );
    let mut y = String::new();
    for pem in [&att, &f9] {
        y.push_str("      - |\n");
        for l in std::fs::read_to_string(pem).unwrap().trim_end().lines() {
            y.push_str(&format!("        {l}\n"));
        }
    }
    y
}

/// A role on `env: prod` requiring `requirement`, the cap (PIN cache
/// timeout), the user, and one piv `mfa_device` per chain.
pub(crate) fn bundle(user: &str, requirement: &str, pin_cache: &str, chains: &[&str]) -> Bundle {
    let mut b = Bundle::new()
        .role(
            "access-prod",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some(requirement),
        )
        .raw(&format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n\
spec:\n  type: local\n  second_factor: on\n  webauthn:\n    rp_id: example.com\n  require_session_mfa: false\n  hardware_key:\n    pin_cache_timeout: {pin_cache}\n"
        ))
        .user(user, &["access-prod"], &[user]);
    for (i, chain) in chains.iter().enumerate() {
        b = b.raw(&format!(
            "kind: mfa_device\nversion: v1\nmetadata:\n  name: {user}-piv{i}\nspec:\n  user: {user}\n  piv:\n    attestation_chain:\n{chain}"
        ));
    }
    b
}

/// Fields drop in order: agent, stack, user, work dir, card.
pub(crate) struct World {
    pub(crate) agent: Agent,
    pub(crate) login: PamStack,
    pub(crate) sudo: PamStack,
    pub(crate) user: TestUser,
    pub(crate) _work: WorkDir,
    pub(crate) env: PcscEnv,
}

/// pcscd + the card, then the agent (inside the card's mount namespace,
/// trusting the card's test root) on node `env: prod`, and a login-class
/// service mapped to desktop. Chains are made by `keys` before the bundle.
pub(crate) fn world(label: &str, keys: impl FnOnce(&PcscEnv) -> (String, Vec<String>)) -> World {
    let mut env = PcscEnv::start(label);
    env.start_card(
        Path::new(CARD),
        &CardOptions {
            serial: SERIAL,
            ..CardOptions::default()
        },
    );
    let (requirement, chains) = keys(&env);
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let service = unique_name("login-mfat");
    let sudo_service = unique_name("sudo-mfat");
    let mut config = AgentConfig::with_env("prod")
        .service(&service, "desktop")
        .service(&sudo_service, "admin");
    config.extra_yaml = format!(
        "piv:\n  attestation_roots: [{}]\nattached_keys:\n  timeout: 8s\n",
        env.root_cert_path().display()
    );
    let refs: Vec<&str> = chains.iter().map(String::as_str).collect();
    let b = bundle(&user.name, &requirement, "5m", &refs);
    let agent = Agent::start_wrapped(&work, &config, &b, env.mount_only_prefix());
    let module = bins::pam_module();
    bins::require(&module);
    // Default deadlines: the module's wait_timeout= (60 s) outlasts the
    // agent's attached_keys.timeout.
    let args = format!("socket={}", agent.socket.display());
    let text = format!(
        "auth required {m} {args}\naccount required {m} {args}\n",
        m = module.display()
    );
    let login = PamStack::new(&work, &service, &text);
    let sudo = PamStack::new(&work, &sudo_service, &text);
    World {
        agent,
        login,
        sudo,
        user,
        _work: work,
        env,
    }
}

impl World {
    pub(crate) fn run(&self, answers: &[&str]) -> HarnessOutcome {
        self.run_with(answers, None)
    }

    pub(crate) fn run_with(&self, answers: &[&str], give_up: Option<&str>) -> HarnessOutcome {
        let mut r = HarnessRun::new(&self.user.name, "auth+account");
        r.tty = Some("tty3".into());
        r.answers = answers.iter().map(|a| a.to_string()).collect();
        r.timeout = Some(Duration::from_secs(60));
        r.give_up_on_info = give_up.map(str::to_owned);
        self.login.run(&r)
    }

    /// sudo as the user (PAM_RUSER set), with `env` in the PAM environment.
    pub(crate) fn sudo(&self, env: &[&str]) -> HarnessOutcome {
        self.sudo_answering(env, &[])
    }

    pub(crate) fn sudo_answering(&self, env: &[&str], answers: &[&str]) -> HarnessOutcome {
        let mut r = HarnessRun::new(&self.user.name, "auth+account");
        r.answers = answers.iter().map(|a| a.to_string()).collect();
        r.ruser = Some(self.user.name.clone());
        r.tty = Some("/dev/pts/7".into());
        r.env = env.iter().map(|e| e.to_string()).collect();
        r.timeout = Some(Duration::from_secs(60));
        self.sudo.run(&r)
    }

    pub(crate) fn evidence(&self, out: &HarnessOutcome) -> String {
        let card = self.env.card_log();
        let tail: Vec<&str> = card.lines().rev().take(30).collect();
        format!(
            "{}\n{}\n--- card log (tail, newest first)\n{}",
            out.describe(),
            self.agent.evidence(),
            tail.join("\n")
        )
    }

    pub(crate) fn assert_allowed(&self, out: &HarnessOutcome, what: &str) {
        assert_eq!(out.exit_code(), Some(0), "{what}:\n{}", self.evidence(out));
        assert_eq!(out.result("auth"), "PAM_SUCCESS", "{what}");
        assert_eq!(out.result("account"), "PAM_SUCCESS", "{what}");
    }

    pub(crate) fn assert_refused(&self, out: &HarnessOutcome, what: &str) {
        assert_ne!(out.exit_code(), Some(0), "{what}:\n{}", self.evidence(out));
        assert_ne!(
            out.result("auth"),
            "PAM_SUCCESS",
            "{what}:\n{}",
            self.evidence(out)
        );
    }

    pub(crate) fn last_auth(&self) -> serde_json::Value {
        let events = self.agent.audit_events();
        decisions_for(&events, &self.user.name)
            .into_iter()
            .rfind(|e| field(e, "hook") == "auth")
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn pin_tries_left(&self) -> String {
        let f = ykpiv(&self.env, &["-a", "status"]);
        ok(&f, "status", &self.env);
        f.stdout
            .lines()
            .find(|l| l.contains("PIN tries left"))
            .unwrap_or("")
            .to_string()
    }
}
