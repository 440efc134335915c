//! SSH logins with a key on the software PIV card (issue 4, 5(f) and 5(d)):
//! the OpenSSH client signs through opensc's PKCS#11 module
//! (`PKCS11Provider`) with pcscd + vpcd + the card in a private namespace,
//! against a real sshd whose keys come from the agent (the registered PIV
//! keys are served like sk keys). On a node whose role requires
//! `hardware_key_touch`, the attested class of the key decides: touch always
//! passes without a second prompt, touch never and a file key are refused;
//! with serial number validation on, the card's serial must be in the
//! user's `hardware_key_serial_numbers` trait.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::piv_card::tools::{ok, require_pcsc_tools, OPENSC_PKCS11};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

const CARD: &str = env!("CARGO_BIN_EXE_piv-card");
const PKCS11: &str = OPENSC_PKCS11;
const SERIAL: u32 = 13_572_468;
const PIN: &str = "123456";

/// A key generated on the card in `slot` with the policies, attested, its
/// attestation certificate stored in the slot (opensc lists a key only with a
/// certificate). Returns the chain (slot PEM, F9 PEM) and the OpenSSH public
/// key file (what `ssh -i` names, so the client offers that key only).
struct CardKey {
    chain: [String; 2],
    ssh_public: std::path::PathBuf,
}

fn generate(env: &PcscEnv, slot: &str, touch: &str, pin: &str) -> CardKey {
    let dir = env.dir();
    let p = |n: &str| dir.join(format!("{slot}-{n}")).display().to_string();
    let (public, att, f9) = (p("pub.pem"), p("att.pem"), p("f9.pem"));
    let y = |args: &[&str]| {
        let mut argv = vec!["yubico-piv-tool", "-r", "Virtual PCD"];
        argv.extend_from_slice(args);
        env.run(&argv)
    };
    let touch_arg = format!("--touch-policy={touch}");
    let pin_arg = format!("--pin-policy={pin}");
    ok(
        &y(&[
            "-a", "generate", "-A", "ECCP256", "-s", slot, &touch_arg, &pin_arg, "-o", &public,
        ]),
        "generate",
        env,
    );
    ok(&y(&["-a", "attest", "-s", slot, "-o", &att]), "attest", env);
    ok(
        &y(&["-a", "read-certificate", "-s", "f9", "-o", &f9]),
        "read f9",
        env,
    );
    ok(
        &y(&["-a", "import-certificate", "-s", slot, "-i", &att]),
        "import",
        env,
    );
    let conv = env.run(&["ssh-keygen", "-i", "-m", "PKCS8", "-f", &public]);
    ok(&conv, "ssh-keygen -i", env);
    let ssh_public = dir.join(format!("{slot}-id.pub"));
    std::fs::write(&ssh_public, &conv.stdout).unwrap();
    CardKey {
        chain: [
            std::fs::read_to_string(&att).unwrap(),
            std::fs::read_to_string(&f9).unwrap(),
        ],
        ssh_public,
    }
}

fn indent(pem: &str) -> String {
    pem.trim_end()
        .lines()
        .map(|l| format!("        {l}\n"))
        .collect()
}

/// prod requires `hardware_key_touch`; the user's serial trait holds
/// `serials`; the cap validates serials when `validate`. Each card key is an
/// `mfa_device` of the piv form.
fn piv_bundle(login: &str, keys: &[(&str, &CardKey)], validate: bool, serials: &str) -> Bundle {
    let mut b = Bundle::new()
        .role(
            "access-prod",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some("hardware_key_touch"),
        )
        .raw(&format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n\
spec:\n  type: local\n  second_factor: on\n  webauthn:\n    rp_id: example.com\n  require_session_mfa: false\n  hardware_key:\n    \
serial_number_validation:\n      enabled: {validate}\n"
        ))
        .raw(&format!(
            "kind: user\nversion: v2\nmetadata:\n  name: {login}\nspec:\n  roles: [access-prod]\n  traits:\n    logins: [{login}]\n    hardware_key_serial_numbers: [\"{serials}\"]\n"
        ));
    for (name, k) in keys {
        b = b.raw(&format!(
            "kind: mfa_device\nversion: v1\nmetadata:\n  name: {name}\nspec:\n  user: {login}\n  piv:\n    attestation_chain:\n      - |\n{}      - |\n{}",
            indent(&k.chain[0]),
            indent(&k.chain[1])
        ));
    }
    b
}

struct World {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    work: WorkDir,
    env: PcscEnv,
}

impl World {
    /// ssh with the card's key named by `public` (through PKCS#11, the PIN
    /// from askpass), run in the card's mount namespace.
    fn login_card(&self, public: &Path) -> SshOutcome {
        let mut l = SshLogin::new(self.sshd.port, &self.user.name, &self.dummy_key()).answer(PIN);
        l.key = public.to_path_buf();
        l.extra_args = vec!["-o".into(), format!("PKCS11Provider={PKCS11}")];
        l.wrapper = self.env.mount_only_prefix();
        l.timeout = Duration::from_secs(60);
        l.run(&self.work, "id -un")
    }

    fn dummy_key(&self) -> SshKey {
        SshKey::generate(
            self.work.path(),
            &unique_name("unused"),
            KeyKind::Ed25519,
            false,
        )
    }

    fn evidence(&self, out: &SshOutcome, from: usize) -> String {
        format!(
            "{}\n--- sshd log\n{}\n{}\n--- card log (tail)\n{}",
            out.describe(),
            self.sshd.log_since(from),
            self.agent.evidence(),
            tail(&self.env.card_log(), 40)
        )
    }

    fn assert_in(&self, public: &Path, what: &str) -> SshOutcome {
        let from = self.sshd.log_len();
        let out = self.login_card(public);
        assert!(
            out.success() && out.stdout().trim() == self.user.name,
            "{what}: login should succeed:\n{}",
            self.evidence(&out, from)
        );
        out
    }

    fn assert_out(&self, public: &Path, what: &str) -> SshOutcome {
        let from = self.sshd.log_len();
        let out = self.login_card(public);
        assert!(
            !out.success() && !out.stdout().contains(&self.user.name),
            "{what}: login should be refused:\n{}",
            self.evidence(&out, from)
        );
        out
    }

    fn last_decision(&self) -> serde_json::Value {
        let events = self.agent.audit_events();
        decisions_for(&events, &self.user.name)
            .into_iter()
            .rfind(|e| field(e, "hook") == "auth")
            .cloned()
            .unwrap_or_default()
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Prompts other than the card's PIN (a keyboard-interactive challenge).
fn second_prompts(out: &SshOutcome) -> Vec<&String> {
    out.askpass
        .iter()
        .filter(|p| !p.to_lowercase().contains("pin"))
        .collect()
}

#[test]
fn piv_keys_log_in_by_their_attested_class_and_serial() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool", "ssh"]);
    assert!(
        std::path::Path::new(PKCS11).exists(),
        "{PKCS11} missing: install opensc-pkcs11 (tests/install-deps.sh)"
    );
    let mut env = PcscEnv::start("piv-login");
    env.start_card(
        Path::new(CARD),
        &CardOptions {
            serial: SERIAL,
            ..CardOptions::default()
        },
    );
    let touch = generate(&env, "9c", "always", "once");
    let work = WorkDir::new("piv-login");
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let keys = [("card-9c", &touch)];
    let bundle = piv_bundle(&user.name, &keys, false, "1");
    let mut config = AgentConfig::with_env("prod");
    config.extra_yaml = format!(
        "piv:\n  attestation_roots: [{}]\n",
        env.root_cert_path().display()
    );
    let MfaSshd { agent, sshd, .. } = MfaSshd::start(&work, config, &bundle);
    let w = World {
        sshd,
        agent,
        user,
        work,
        env,
    };

    // The agent serves the PIV keys to sshd (AuthorizedKeysCommand).
    let served = w.agent.mfactl(&["authorized-keys", &w.user.name]);
    let touch_pub = std::fs::read_to_string(&touch.ssh_public).unwrap();
    let blob = touch_pub.split_whitespace().nth(1).unwrap();
    assert!(
        served.success() && served.stdout.contains(blob),
        "{served:?}\nwanted {blob}"
    );

    // (f) touch always: the attested class satisfies hardware_key_touch, no second prompt.
    let out = w.assert_in(&touch.ssh_public, "touch-always PIV key");
    assert!(
        second_prompts(&out).is_empty(),
        "a second prompt: {}",
        out.describe()
    );
    let e = w.last_decision();
    assert_eq!(field(&e, "result"), "allow", "{e}");
    assert_eq!(field(&e, "evidence"), "piv_touch_and_pin", "{e}");
    assert!(
        w.env.card_log().contains("touch requested for slot 9c"),
        "the card was never asked for a touch:\n{}",
        tail(&w.env.card_log(), 40)
    );

    // The card's touch is enforced by the card: not touched, no signature, no login.
    w.env.set_touch("not touched");
    w.assert_out(&touch.ssh_public, "touch-always key, not touched");
    w.env.set_touch("touched");

    // A file key is refused.
    let from = w.sshd.log_len();
    let out = SshLogin::new(w.sshd.port, &w.user.name, &plain)
        .answer("1234")
        .run(&w.work, "id -un");
    assert!(
        !out.success() && !out.stdout().contains(&w.user.name),
        "file key: {}",
        w.evidence(&out, from)
    );
    assert!(mentions_security_key(&out.describe()), "{}", out.describe());

    // (d) serial number validation on: a serial not in the trait is refused ...
    w.agent
        .update_bundle(&piv_bundle(&w.user.name, &keys, true, "11111111, 22222222"));
    let out = w.assert_out(&touch.ssh_public, "serial not listed");
    let e = w.last_decision();
    assert!(
        field(&e, "reason").contains(&format!("serial number {SERIAL}")),
        "{e}\n{}",
        out.describe()
    );
    // ... allowed when listed (among others, comma-separated) ...
    w.agent.update_bundle(&piv_bundle(
        &w.user.name,
        &keys,
        true,
        &format!("11111111, {SERIAL}"),
    ));
    w.assert_in(&touch.ssh_public, "serial listed");
    // ... and ignored when validation is off.
    w.agent
        .update_bundle(&piv_bundle(&w.user.name, &keys, false, "11111111"));
    w.assert_in(&touch.ssh_public, "serial validation off");

    // touch never: a PIV key, registered and attested, but of class pin.
    // The 9c certificate goes first, so the client has this key only
    // (opensc lists a key only with a certificate, and offers every key of
    // the token whatever `-i` says).
    ok(
        &w.env.run(&[
            "yubico-piv-tool",
            "-r",
            "Virtual PCD",
            "-a",
            "delete-certificate",
            "-s",
            "9c",
        ]),
        "delete 9c certificate",
        &w.env,
    );
    let no_touch = generate(&w.env, "9a", "never", "once");
    let keys = [("card-9c", &touch), ("card-9a", &no_touch)];
    w.agent
        .update_bundle(&piv_bundle(&w.user.name, &keys, false, "1"));
    let out = w.assert_out(&no_touch.ssh_public, "touch-never PIV key");
    let e = w.last_decision();
    assert_eq!(field(&e, "result"), "deny", "{e}");
    assert!(
        field(&e, "reason").contains("touch"),
        "{e}\n{}",
        out.describe()
    );

    // An attestation under a root the agent does not trust does not count:
    // the agent restarted with Yubico's roots only.
    let mut w = w;
    let yaml = std::fs::read_to_string(&w.agent.config_path).unwrap();
    let piv = format!(
        "piv:\n  attestation_roots: [{}]\n",
        w.env.root_cert_path().display()
    );
    assert!(yaml.contains(&piv), "{yaml}");
    std::fs::write(&w.agent.config_path, yaml.replace(&piv, "")).unwrap();
    w.agent.stop();
    w.agent.spawn();
    w.agent
        .update_bundle(&piv_bundle(&w.user.name, &keys, false, "1"));
    // (the 9a key is the one on the card now; its class would not do either,
    // so the reason must be the root)
    let out = w.assert_out(&no_touch.ssh_public, "untrusted root");
    let e = w.last_decision();
    assert!(
        field(&e, "reason").contains("PIV attestation refused"),
        "{e}\n{}",
        out.describe()
    );
}
