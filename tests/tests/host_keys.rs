//! Keys attached to this host (issue 4, items 3 and 5(a),(b)): a login-class
//! PAM service (mapped to desktop) run through pam-harness, the real agent
//! reaching the software PIV card through pcscd + vpcd (the agent runs in
//! the card's mount namespace; the harness and the module stay outside and
//! reach it by its socket). The agent signs a fresh challenge on the card
//! and checks it against the registered, attested key; the module shows
//! "Tap your security key" while it waits.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::pam_stack::{HarnessOutcome, HarnessRun, PamStack};
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::piv_card::tools::{ok, require_pcsc_tools, ykpiv};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

const CARD: &str = env!("CARGO_BIN_EXE_piv-card");
const SERIAL: u32 = 24_681_357;
const PIN: &str = "123456";
const CUE: &str = "Tap your security key";

/// Generates a P-256 key in `slot` with the policies and returns its
/// attestation chain as an `attestation_chain` YAML list (slot, F9).
fn attested(env: &PcscEnv, slot: &str, touch: &str, pin: &str) -> String {
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
fn bundle(user: &str, requirement: &str, pin_cache: &str, chains: &[&str]) -> Bundle {
    let mut b = Bundle::new()
        .role(
            "access-prod",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some(requirement),
        )
        .raw(&format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n\
spec:\n  type: local\n  second_factor: on\n  require_session_mfa: false\n  hardware_key:\n    pin_cache_timeout: {pin_cache}\n"
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
struct World {
    agent: Agent,
    login: PamStack,
    sudo: PamStack,
    user: TestUser,
    _work: WorkDir,
    env: PcscEnv,
}

/// pcscd + the card, then the agent (inside the card's mount namespace,
/// trusting the card's test root) on node `env: prod`, and a login-class
/// service mapped to desktop. Chains are made by `keys` before the bundle.
fn world(label: &str, keys: impl FnOnce(&PcscEnv) -> (String, Vec<String>)) -> World {
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
    fn run(&self, answers: &[&str]) -> HarnessOutcome {
        self.run_with(answers, None)
    }

    fn run_with(&self, answers: &[&str], give_up: Option<&str>) -> HarnessOutcome {
        let mut r = HarnessRun::new(&self.user.name, "auth+account");
        r.tty = Some("tty3".into());
        r.answers = answers.iter().map(|a| a.to_string()).collect();
        r.timeout = Some(Duration::from_secs(60));
        r.give_up_on_info = give_up.map(str::to_owned);
        self.login.run(&r)
    }

    /// sudo as the user (PAM_RUSER set), with `env` in the PAM environment.
    fn sudo(&self, env: &[&str]) -> HarnessOutcome {
        self.sudo_answering(env, &[])
    }

    fn sudo_answering(&self, env: &[&str], answers: &[&str]) -> HarnessOutcome {
        let mut r = HarnessRun::new(&self.user.name, "auth+account");
        r.answers = answers.iter().map(|a| a.to_string()).collect();
        r.ruser = Some(self.user.name.clone());
        r.tty = Some("/dev/pts/7".into());
        r.env = env.iter().map(|e| e.to_string()).collect();
        r.timeout = Some(Duration::from_secs(60));
        self.sudo.run(&r)
    }

    fn evidence(&self, out: &HarnessOutcome) -> String {
        let card = self.env.card_log();
        let tail: Vec<&str> = card.lines().rev().take(30).collect();
        format!(
            "{}\n{}\n--- card log (tail, newest first)\n{}",
            out.describe(),
            self.agent.evidence(),
            tail.join("\n")
        )
    }

    fn assert_allowed(&self, out: &HarnessOutcome, what: &str) {
        assert_eq!(out.exit_code(), Some(0), "{what}:\n{}", self.evidence(out));
        assert_eq!(out.result("auth"), "PAM_SUCCESS", "{what}");
        assert_eq!(out.result("account"), "PAM_SUCCESS", "{what}");
    }

    fn assert_refused(&self, out: &HarnessOutcome, what: &str) {
        assert_ne!(out.exit_code(), Some(0), "{what}:\n{}", self.evidence(out));
        assert_ne!(
            out.result("auth"),
            "PAM_SUCCESS",
            "{what}:\n{}",
            self.evidence(out)
        );
    }

    fn last_auth(&self) -> serde_json::Value {
        let events = self.agent.audit_events();
        decisions_for(&events, &self.user.name)
            .into_iter()
            .rfind(|e| field(e, "hook") == "auth")
            .cloned()
            .unwrap_or_default()
    }

    fn pin_tries_left(&self) -> String {
        let f = ykpiv(&self.env, &["-a", "status"]);
        ok(&f, "status", &self.env);
        f.stdout
            .lines()
            .find(|l| l.contains("PIN tries left"))
            .unwrap_or("")
            .to_string()
    }
}

#[test]
fn touch_always_passes_touch_never_is_refused_on_a_hardware_key_touch_desktop() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let mut chains = Vec::new();
    let w = world("host-keys-touch", |env| {
        chains.push(attested(env, "9c", "always", "never"));
        chains.push(attested(env, "9a", "never", "never"));
        ("hardware_key_touch".into(), Vec::new())
    });
    let (touch, no_touch) = (&chains[0], &chains[1]);

    // Touch never: registered and attested, but its class lacks the touch.
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_touch",
        "5m",
        &[no_touch],
    ));
    let out = w.run(&[]);
    w.assert_refused(&out, "touch-never key");
    let e = w.last_auth();
    assert!(
        field(&e, "reason").contains("touch"),
        "{e}\n{}",
        w.evidence(&out)
    );
    assert!(
        out.errors
            .iter()
            .any(|m| m.contains("none of your registered keys")),
        "{}",
        w.evidence(&out)
    );

    // Touch always, touched: the cue, no prompt, allowed (account too).
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_touch",
        "5m",
        &[touch, no_touch],
    ));
    let started = Instant::now();
    let out = w.run(&[]);
    let took = started.elapsed();
    w.assert_allowed(&out, "touch-always key, touched");
    assert!(out.prompts.is_empty(), "{}", w.evidence(&out));
    assert!(
        out.infos.iter().any(|m| m.contains(CUE)),
        "{}",
        w.evidence(&out)
    );
    let e = w.last_auth();
    assert_eq!(field(&e, "evidence"), "attached_piv_touch", "{e}");
    assert!(
        w.env.card_log().contains("touch requested for slot 9c"),
        "the card was not asked for a touch"
    );
    eprintln!("local PIV tap round trip (touch, no PIN): {took:?}");

    // Local sudo (no SSH session) taps the attached key too ...
    let out = w.sudo(&[]);
    w.assert_allowed(&out, "local sudo");
    assert!(
        out.infos.iter().any(|m| m.contains(CUE)),
        "{}",
        w.evidence(&out)
    );
    assert_eq!(field(&w.last_auth(), "evidence"), "attached_piv_touch");
    // ... but not with a forwarded agent (an SSH session): the agent leaves
    // the card on this host alone and sends the challenge prompt, which
    // `mfactl tap` on the person's computer answers (here: nobody does).
    let card_before = w.env.card_log().len();
    let out = w.sudo(&["SSH_AUTH_SOCK=/nonexistent/agent.sock"]);
    w.assert_refused(&out, "sudo with a forwarded agent");
    assert!(
        out.prompts
            .iter()
            .any(|p| p.contains("MFA challenge") && p.contains(" piv=") && p.contains("9c")),
        "no challenge prompt naming the PIV slot\n{}",
        w.evidence(&out)
    );
    assert_eq!(
        w.env.card_log().len(),
        card_before,
        "the card attached to this host was used for a sudo inside an SSH session"
    );

    // Not touched: the card refuses to sign, the login is refused.
    w.env.set_touch("not touched");
    let out = w.run(&[]);
    w.assert_refused(&out, "not touched");
    assert!(
        out.errors.iter().any(|m| m.contains("did not sign")),
        "{}",
        w.evidence(&out)
    );

    // The person gives up while the card waits: a clean, quick refusal.
    // (The card would wait far past the agent's 8 s; the audit below tells a
    // cancel from that timeout, the bound only that nothing waited it out.)
    w.env.set_touch("delay 30000 ms");
    let started = Instant::now();
    let out = w.run_with(&[], Some(CUE));
    w.assert_refused(&out, "gave up");
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    let cancelled = w.agent.wait_audit(Duration::from_secs(5), |e| {
        field(e, "reason").contains("cancelled") && field(e, "result") == "deny"
    });
    assert!(cancelled.is_some(), "{}", w.evidence(&out));

    // No card attached: a clear refusal, not a hang.
    w.env.set_touch("touched");
    let mut w = w;
    w.env.stop_card();
    let started = Instant::now();
    let out = w.run(&[]);
    w.assert_refused(&out, "no card");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        out.errors
            .iter()
            .any(|m| m.contains("no registered security key of yours is attached")),
        "{}",
        w.evidence(&out)
    );
}

#[test]
fn hardware_key_pin_wrong_pin_refused_right_pin_passes_and_is_cached() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let mut chains = Vec::new();
    let w = world("host-keys-pin", |env| {
        chains.push(attested(env, "9d", "never", "once"));
        ("hardware_key_pin".into(), Vec::new())
    });
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_pin",
        "5m",
        &[&chains[0]],
    ));
    assert!(w.pin_tries_left().ends_with('3'), "{}", w.pin_tries_left());

    // A wrong PIN: refused, and the card counted it.
    let out = w.run(&["654321"]);
    w.assert_refused(&out, "wrong PIN");
    assert!(
        out.prompts
            .iter()
            .any(|p| p.starts_with("PROMPT(echo_off)") && p.contains("PIN")),
        "{}",
        w.evidence(&out)
    );
    assert!(
        out.errors.iter().any(|m| m.contains("wrong PIN")),
        "{}",
        w.evidence(&out)
    );
    assert!(w.pin_tries_left().ends_with('2'), "{}", w.pin_tries_left());

    // The right PIN passes; the class is pin, from the attestation.
    let out = w.run(&[PIN]);
    w.assert_allowed(&out, "right PIN");
    assert_eq!(field(&w.last_auth(), "evidence"), "attached_piv_pin");
    assert!(w.pin_tries_left().ends_with('3'), "{}", w.pin_tries_left());

    // Within pin_cache_timeout, the PIN is not asked again.
    let out = w.run(&[]);
    w.assert_allowed(&out, "cached PIN");
    assert!(out.prompts.is_empty(), "{}", w.evidence(&out));

    // sudo outside SSH never takes the PIN from the cache (whether it runs
    // at this host is read from what the caller can hide): asked again.
    let out = w.sudo_answering(&[], &[]);
    w.assert_refused(&out, "sudo with only a cached PIN");
    assert!(
        out.prompts
            .iter()
            .any(|p| p.starts_with("PROMPT(echo_off)") && p.contains("PIN")),
        "{}",
        w.evidence(&out)
    );
    let out = w.sudo_answering(&[], &[PIN]);
    w.assert_allowed(&out, "sudo with its PIN");
    assert_eq!(field(&w.last_auth(), "evidence"), "attached_piv_pin");

    // The PIN never reaches the logs.
    for text in [w.agent.audit_text(), w.agent.log()] {
        assert!(!text.contains(PIN) && !text.contains("654321"), "{text}");
    }

    // Without a cache timeout the PIN is asked every time.
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_pin",
        "0s",
        &[&chains[0]],
    ));
    let out = w.run(&[PIN]);
    w.assert_allowed(&out, "PIN asked again");
    assert_eq!(out.prompts.len(), 1, "{}", w.evidence(&out));
}

/// Chaos (issue 11 item 4): pcscd is SIGKILLed while the card waits for the
/// touch. The login is refused (never allowed, never hung past the agent's
/// `attached_keys.timeout`), the agent survives it, and the next login with
/// no pcscd is refused clearly too.
#[test]
fn pcscd_killed_mid_tap_is_a_refusal_and_the_agent_survives() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let mut chains = Vec::new();
    let w = world("host-keys-pcscd-kill", |env| {
        chains.push(attested(env, "9c", "always", "never"));
        ("hardware_key_touch".into(), Vec::new())
    });
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_touch",
        "5m",
        &[&chains[0]],
    ));
    w.env.set_touch("delay 30000 ms");
    let before = w.env.card_log().matches("touch requested").count();
    let (out, after_kill) = std::thread::scope(|s| {
        let login = s.spawn(|| w.run(&[]));
        let started = Instant::now();
        while w.env.card_log().matches("touch requested").count() == before {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the card was never asked for a touch"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = w.env.pcscd_pid() as i32;
        // SAFETY: kill by PID of the pcscd this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let killed = Instant::now();
        let out = login.join().expect("login thread");
        (out, killed.elapsed())
    });
    w.assert_refused(&out, "pcscd killed mid-tap");
    eprintln!("login refused {after_kill:?} after pcscd was killed");
    // The agent's attached_keys.timeout is 8 s: nothing waited past it.
    assert!(after_kill < Duration::from_secs(12), "{after_kill:?}");
    let e = w.last_auth();
    assert_eq!(field(&e, "result"), "deny", "{e}\n{}", w.evidence(&out));
    // The agent is still there and refuses the next login clearly.
    let status = w.agent.mfactl(&["status"]);
    assert!(status.success(), "{}", w.evidence(&out));
    let out = w.run(&[]);
    w.assert_refused(&out, "no pcscd");
    assert!(!out.errors.is_empty(), "{}", w.evidence(&out));
}
