//! Credit only what sshd enforced: a registered sk key listed in the user's
//! own authorized_keys with trick lines, on a `hardware_key_pin` node, through
//! a real sshd. sshd uses the first line whose key matches and whose options
//! pass; the agent credits a line's `verify-required` only when that line is
//! the key's one plain line, unchanged since sshd's connection began, and
//! otherwise only sshd's global PubkeyAuthOptions (none here).

mod common;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

/// Fields drop in order: sshd, agent, user, work dir.
struct World {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    work: WorkDir,
}

/// A prod node requiring `hardware_key_pin`, `key` registered for the user
/// (and served by the AuthorizedKeysCommand with verify-required), and the
/// user's authorized_keys made of `lines(key)`.
fn world(label: &str, key: &SshKey, lines: &[String]) -> World {
    world_with(label, key, lines, "hardware_key_pin", |_, opts| opts)
}

/// [`world`], the prod role requiring `prod_mfa`, with sshd's options
/// changed by `more` (given the work dir).
fn world_with(
    label: &str,
    key: &SshKey,
    lines: &[String],
    prod_mfa: &str,
    more: impl FnOnce(&WorkDir, SshdOptions) -> SshdOptions,
) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    user.authorize_keys(&refs);
    let MfaSshd { agent, sshd, .. } = MfaSshd::start_with(
        &work,
        AgentConfig::with_env("prod"),
        &bundle(&user.name, "false", prod_mfa, &[key]),
        |opts| more(&work, opts),
    );
    World {
        sshd,
        agent,
        user,
        work,
    }
}

impl World {
    fn login(&self, key: &SshKey) -> SshOutcome {
        SshLogin::new(self.sshd.port, &self.user.name, key)
            .answer("1234")
            .run(&self.work, "id -un")
    }

    fn evidence(&self, out: &SshOutcome, from: usize) -> String {
        format!(
            "{}\n--- sshd log\n{}\n{}",
            out.describe(),
            self.sshd.log_since(from),
            self.agent.evidence()
        )
    }

    /// The login is refused by pam-mfa (sshd accepted the key: the agent
    /// decided), and the denial's reason contains `why`.
    fn assert_refused_for(&self, key: &SshKey, why: &str) {
        let from = self.sshd.log_len();
        let out = self.login(key);
        assert_eq!(
            out.exit_code(),
            Some(255),
            "login should be refused:\n{}",
            self.evidence(&out, from)
        );
        let login = self.user.name.clone();
        let deny = self
            .agent
            .audit_events()
            .into_iter()
            .find(|e| {
                field(e, "login") == login
                    && field(e, "result") == "deny"
                    && field(e, "hook") == "auth"
            })
            .unwrap_or_else(|| panic!("no auth denial:\n{}", self.evidence(&out, from)));
        let reason = field(&deny, "reason");
        assert!(reason.contains(why), "{reason}");
        assert!(
            reason.contains("key class touch") || reason.contains("key class hardware"),
            "{reason}"
        );
    }
}

fn line(options: &str, key: &SshKey) -> String {
    format!("{options}{} {}", key.key_type(), key.blob())
}

/// A `from=` line with verify-required before a plain line of the same key:
/// for a login from 127.0.0.1 sshd skips line 1 and checks no PIN. The key
/// here cannot even verify a PIN, and sshd lets it in; pam-mfa must not.
#[test]
fn a_restricted_verify_required_line_before_a_plain_one_earns_no_pin() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-a");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let w = world(
        "credit-a",
        &key,
        &[
            line("from=\"203.0.113.1\",verify-required ", &key),
            line("", &key),
        ],
    );
    w.assert_refused_for(&key, "the key is on 2 lines");
}

/// The key on two lines, both verify-required: sshd did check the PIN (its
/// first line passes), but the agent does not guess which line sshd used.
#[test]
fn the_key_on_two_lines_earns_no_file_option_credit() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-b");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, true);
    let w = world(
        "credit-b",
        &key,
        &[
            line("verify-required ", &key),
            line("verify-required ", &key),
        ],
    );
    w.assert_refused_for(&key, "the key is on 2 lines");
}

/// An escaped quote: sshd reads `command="x\",verify-required,y=\""` as
/// one command option (no PIN); a reader that toggles on every quote sees
/// verify-required. The agent does not guess.
#[test]
fn an_escaped_quote_earns_no_file_option_credit() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-c");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let w = world(
        "credit-c",
        &key,
        &[line("command=\"echo \\\",verify-required,y=\\\"\" ", &key)],
    );
    w.assert_refused_for(&key, "backslash");
}

/// The control: the same key on one plain verify-required line earns the
/// PIN sshd checked, and the login passes on it.
#[test]
fn one_plain_verify_required_line_earns_the_pin() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-d");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, true);
    let w = world("credit-d", &key, &[line("verify-required ", &key)]);
    let from = w.sshd.log_len();
    let out = w.login(&key);
    assert!(out.success(), "{}", w.evidence(&out, from));
    assert_eq!(out.stdout().trim(), w.user.name);
    let allow = w
        .agent
        .audit_events()
        .into_iter()
        .find(|e| field(e, "login") == w.user.name && field(e, "result") == "allow")
        .unwrap_or_else(|| panic!("{}", w.agent.audit_text()));
    assert!(
        field(&allow, "reason").contains("listed in the user's authorized_keys"),
        "{allow}"
    );
}

/// The reviewer's case, through a real sshd: sshd accepts the key from a
/// plain line (no PIN asked), then the line becomes `verify-required`
/// before pam-mfa reads it (here a `pam_exec` step ahead of pam-mfa in
/// `auth` rewrites it in place, as the user's own process could while
/// keyboard-interactive begins). sshd checked no PIN: none is credited.
#[test]
fn a_line_made_verify_required_after_sshd_read_it_earns_no_pin() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-e");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, true);
    let w = world_with(
        "credit-e",
        &key,
        &[line("", &key)],
        "hardware_key_pin",
        |work, mut opts| {
            let script = work.write(
                "pin-after-the-fact",
                "#!/bin/sh\nf=$(getent passwd \"$PAM_USER\" | cut -d: -f6)/.ssh/authorized_keys\n\
             line=$(cat \"$f\")\nprintf 'verify-required %s\\n' \"$line\" > \"$f\"\n",
                0o755,
            );
            opts.pam_stack = format!(
                "auth optional pam_exec.so quiet {}\n{}",
                script.display(),
                opts.pam_stack
            );
            opts
        },
    );
    w.assert_refused_for(&key, "changed after sshd's connection began");
    let file = std::fs::read_to_string(w.user.home.join(".ssh/authorized_keys")).unwrap();
    assert!(file.starts_with("verify-required "), "{file}");
}

/// A world whose sshd runs, in `auth` ahead of pam-mfa, a `pam_exec`
/// step that installs the bundles named by `reloads` (`pin`, `touch`) one
/// after the other, the key served, to another session than sshd's
/// connection, under each; the role starts requiring `start`. Returns the
/// world and the file the other session's last serve went to.
fn served_elsewhere_world(
    label: &str,
    key: &SshKey,
    start: &str,
    reloads: &[&str],
) -> (World, std::path::PathBuf) {
    let steps: String = reloads
        .iter()
        .map(|b| {
            format!(
                "cp \"$DIR/{b}.yaml\" \"$BUNDLE.new\" && mv \"$BUNDLE.new\" \"$BUNDLE\"\n\
                 \"$MFACTL\" --socket \"$SOCK\" reload >/dev/null 2>&1\n\
                 setsid -w \"$MFACTL\" --socket \"$SOCK\" authorized-keys \"$PAM_USER\" >\"$DIR/served-elsewhere\" 2>&1\n"
            )
        })
        .collect();
    let setup = |work: &WorkDir, mut opts: SshdOptions| {
        let env = work.path().join("reload-env");
        let script = work.write(
            "reload-and-serve",
            &format!("#!/bin/sh\n. {}\n{steps}exit 0\n", env.display()),
            0o755,
        );
        opts.pam_stack = format!(
            "auth optional pam_exec.so quiet {}\n{}",
            script.display(),
            opts.pam_stack
        );
        opts
    };
    let w = world_with(label, key, &[], start, setup);
    for (name, mfa) in [("pin", "hardware_key_pin"), ("touch", "hardware_key_touch")] {
        let b = bundle(&w.user.name, "false", mfa, &[key]);
        w.work.write(&format!("{name}.yaml"), &b.to_yaml(), 0o644);
    }
    w.work.write(
        "reload-env",
        &format!(
            "DIR={}\nBUNDLE={}\nMFACTL={}\nSOCK={}\n",
            w.work.path().display(),
            w.agent.bundle_path.display(),
            pam_mfa_e2e::bins::mfactl().display(),
            w.agent.socket.display(),
        ),
        0o644,
    );
    let served = w.work.path().join("served-elsewhere");
    (w, served)
}

/// A serve to another connection never stands for this one: sshd's
/// connection is served the key without verify-required (the role asks a
/// touch) and checks no PIN; then, before pam-mfa decides, the policy is
/// reloaded to need a PIN and the key is served, with verify-required, to
/// another session. This connection is credited with what was served to
/// it: no PIN.
#[test]
fn a_line_served_to_another_connection_lends_no_pin() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-f");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, true);
    let (w, served) = served_elsewhere_world("credit-f", &key, "hardware_key_touch", &["pin"]);
    w.assert_refused_for(&key, "served by pam-mfa");
    let served = std::fs::read_to_string(served).unwrap_or_default();
    assert!(
        served.contains(&format!("verify-required {}", key.key_type())),
        "the other session was served verify-required: {served}"
    );
}

/// The other way round, which shows the line is found by its connection:
/// sshd's connection is served verify-required and checks the PIN; another
/// session is served the key without it (under a touch policy, reloaded
/// back to the PIN one before pam-mfa decides). This connection keeps the
/// PIN it was served.
#[test]
fn a_line_served_to_this_connection_keeps_its_pin() {
    require_root!();
    let work_keys = WorkDir::new("credit-keys-g");
    let key = SshKey::generate(work_keys.path(), "id_sk", KeyKind::Ed25519Sk, true);
    let (w, served) =
        served_elsewhere_world("credit-g", &key, "hardware_key_pin", &["touch", "pin"]);
    let from = w.sshd.log_len();
    let out = w.login(&key);
    assert!(out.success(), "{}", w.evidence(&out, from));
    let served = std::fs::read_to_string(served).unwrap_or_default();
    assert!(served.contains(key.blob()), "{served}");
}
