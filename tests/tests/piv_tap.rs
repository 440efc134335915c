//! A PIV tap end to end: a prod login with a plain ed25519 key through real
//! sshd, its keyboard-interactive challenge answered by the real `mfactl
//! tap` (as SSH_ASKPASS) running inside the namespaces of pcscd + vpcd + the
//! software PIV card, with the card's PIN from `MFACTL_ASKPASS` and a
//! scripted touch. The agent verifies the signature against the attested
//! key of the user's `piv` mfa_device (chain under the card's test root).

mod common;

use std::path::Path;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::piv_card::tools::require_pcsc_tools;
use pam_mfa_e2e::process::Finished;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

const CARD: &str = env!("CARGO_BIN_EXE_piv-card");

fn ykpiv(env: &PcscEnv, args: &[&str]) -> Finished {
    let mut argv = vec!["yubico-piv-tool", "-r", "Virtual PCD"];
    argv.extend_from_slice(args);
    let f = env.run(&argv);
    assert!(
        f.success(),
        "yubico-piv-tool {args:?}: {f:?}\ncard log:\n{}",
        env.card_log()
    );
    f
}

/// Generates a P-256 key in slot 9c (PIN once, touch always) and returns
/// its attestation chain as PEM: the slot certificate, then F9.
fn generate_9c(env: &PcscEnv) -> Vec<String> {
    let path = |n: &str| env.dir().join(n).to_str().unwrap().to_string();
    ykpiv(
        env,
        &[
            "-a",
            "generate",
            "-A",
            "ECCP256",
            "-s",
            "9c",
            "--touch-policy=always",
            "--pin-policy=once",
            "-o",
            &path("pub.pem"),
        ],
    );
    ykpiv(env, &["-a", "attest", "-s", "9c", "-o", &path("att.pem")]);
    ykpiv(
        env,
        &["-a", "read-certificate", "-s", "f9", "-o", &path("f9.pem")],
    );
    ["att.pem", "f9.pem"]
        .iter()
        .map(|n| std::fs::read_to_string(env.dir().join(n)).unwrap())
        .collect()
}

fn piv_device(user: &str, chain: &[String]) -> String {
    let items: Vec<String> = chain
        .iter()
        .map(|p| format!("\"{}\"", p.trim_end().replace('\n', "\\n")))
        .collect();
    format!(
        "kind: mfa_device\nversion: v1\nmetadata: {{name: {user}-piv}}\nspec:\n  user: {user}\n  piv:\n    slot: 9c\n    attestation_chain: [{}]\n",
        items.join(", ")
    )
}

struct World {
    env: PcscEnv,
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    plain: SshKey,
    work: WorkDir,
    /// An ssh-agent with no keys: the sk fallback of `mfactl tap` finds none.
    empty_agent: TestSshAgent,
}

impl World {
    /// ssh with `mfactl tap` as SSH_ASKPASS, run in pcscd's namespaces
    /// (nsenter) so it reaches the card; MFACTL_ASKPASS answers the n-th PIN
    /// question with `pins[n]` (the last one from then on).
    fn tap_login(&self, pins: &[&str]) -> SshOutcome {
        let dir = self.work.subdir(&unique_name("tapbin-"), 0o700);
        let wrapper = dir.join("mfactl-in-pcsc");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec nsenter --target={} --mount --net -- {} \"$@\"\n",
                self.env.pcscd_pid(),
                bins::require(&bins::mfactl()).display()
            ),
        )
        .unwrap();
        let pin_script = dir.join("pin");
        std::fs::write(dir.join("pins"), pins.join("\n") + "\n").unwrap();
        std::fs::write(
            &pin_script,
            format!(
                "#!/bin/sh\nd={}\necho \"$1\" >> $d/pin-asked\nn=$(wc -l < $d/pin-asked)\np=$(sed -n \"${{n}}p\" $d/pins)\n[ -n \"$p\" ] || p=$(tail -n 1 $d/pins)\necho \"$p\"\n",
                dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        for p in [&wrapper, &pin_script] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut login = SshLogin::new(self.sshd.port, &self.user.name, &self.plain)
            .tap(&wrapper, &self.empty_agent.socket);
        login
            .extra_env
            .push(("MFACTL_ASKPASS".into(), pin_script.display().to_string()));
        login.run(&self.work, "id -un")
    }

    /// What `mfactl tap` wrote on its stderr (the askpass runs), only.
    fn tap_stderr(&self) -> String {
        walk(self.work.path())
            .into_iter()
            .filter(|p| p.ends_with("tap.stderr"))
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn evidence(&self, out: &SshOutcome) -> String {
        format!(
            "{}\n--- mfactl tap stderr\n{}\n{}\n--- card log (tail)\n{}",
            out.describe(),
            self.tap_stderr(),
            self.agent.evidence(),
            tail(&self.env.card_log(), 40),
        )
    }

    fn auth_decisions(&self) -> Vec<serde_json::Value> {
        self.agent
            .audit_events()
            .into_iter()
            .filter(|e| {
                e["event"] == "decision"
                    && e["login"] == self.user.name.as_str()
                    && e["hook"] == "auth"
            })
            .collect()
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn world(label: &str) -> World {
    let mut env = PcscEnv::start(&format!("{label}-card"));
    env.start_card(Path::new(CARD), &CardOptions::default());
    let chain = generate_9c(&env);
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let b = bundle(&user.name, "false", "true", &[]).raw(&piv_device(&user.name, &chain));
    let mut config = AgentConfig::with_env("prod");
    config.extra_yaml = format!(
        "piv:\n  include_yubico_roots: false\n  attestation_roots: [\"{}\"]\n",
        env.root_cert_path().display()
    );
    let MfaSshd { agent, sshd, .. } = MfaSshd::start(&work, config, &b);
    let empty_agent = TestSshAgent::start(work.path(), None);
    World {
        env,
        sshd,
        agent,
        user,
        plain,
        work,
        empty_agent,
    }
}

#[test]
fn a_registered_piv_card_answers_the_challenge_and_another_key_is_refused() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let w = world("piv-tap");
    // A wrong PIN first: the card counts it, mfactl says how many tries are
    // left and signs nothing; the agent's next prompt (a fresh challenge)
    // gets the right PIN.
    let t0 = std::time::Instant::now();
    let out = w.tap_login(&["654321", "123456"]);
    assert!(
        out.success(),
        "the PIV tap should allow:\n{}",
        w.evidence(&out)
    );
    assert_eq!(out.stdout().trim(), w.user.name);
    assert!(
        out.askpass.iter().any(|p| p.contains(" piv=9c")),
        "the prompt names the registered slot: {:?}",
        out.askpass
    );
    let d = w.auth_decisions();
    assert!(
        d.iter()
            .any(|e| e["result"] == "allow" && e["evidence"] == "tap_piv_touch_and_pin"),
        "{}",
        w.evidence(&out)
    );
    // mfactl tap's own words (not the agent's prompt, which also says "Tap").
    let tap_err = w.tap_stderr();
    assert!(tap_err.contains(": Tap your security key now"), "{tap_err}");
    assert!(tap_err.contains("wrong PIN, 2 tries left"), "{tap_err}");
    assert!(
        out.askpass
            .iter()
            .any(|p| p.contains("the answer is empty; try again (2 left)")),
        "{tap_err}"
    );
    // PIN once: asked through MFACTL_ASKPASS (no terminal), for slot 9c.
    let asked: Vec<String> = walk(w.work.path())
        .into_iter()
        .filter(|p| p.ends_with("pin-asked"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        asked.len() == 1
            && asked[0].lines().count() == 2
            && asked[0].lines().all(|l| l.contains("PIN of slot 9c")),
        "{asked:?}"
    );
    for pin in ["654321", "123456"] {
        assert!(
            !w.agent.audit_text().contains(pin) && !w.agent.log().contains(pin),
            "the PIN is never logged"
        );
    }
    eprintln!("PIV tap login: {:?}", t0.elapsed());

    // Not touched: the card refuses to sign, nothing is allowed.
    w.env.set_touch("not touched");
    let out = w.tap_login(&["123456"]);
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        w.tap_stderr().contains("not touched in time"),
        "{}",
        w.evidence(&out)
    );
    w.env.set_touch("touched");

    // A new key in the same slot is not the registered one: the agent
    // refuses its signature.
    generate_9c(&w.env);
    let out = w.tap_login(&["123456"]);
    assert_eq!(out.exit_code(), Some(255), "{}", w.evidence(&out));
    assert!(
        out.stderr().contains("not registered"),
        "{}",
        w.evidence(&out)
    );
    assert!(w
        .agent
        .audit_events()
        .iter()
        .any(|e| e["event"] == "answer_refused"
            && e["reason"]
                .as_str()
                .unwrap_or("")
                .contains("not registered")));
}
