//! The end of a tap's tries, through a real sshd and ssh client: once the
//! last try is refused the module returns PAM_MAXTRIES, and sshd (its
//! sshpam_query turns keyboard-interactive off) starts no new tap for the
//! client's next keyboard-interactive rounds (before: 3 rounds x 3 tries =
//! 9 challenges for one `ssh` answering garbage).

mod common;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

/// `challenge.tries` in these tests.
const TRIES: usize = 3;

/// The keyboard-interactive rounds the client would start: OpenSSH's default
/// `NumberOfPasswordPrompts`.
const CLIENT_ROUNDS: u32 = 3;

/// Fields drop in order.
struct World {
    host: MfaSshd,
    user: TestUser,
    /// The user's only authorized key: a plain one, so the login needs a tap.
    plain: SshKey,
    work: WorkDir,
}

/// A prod node (session MFA) where the user has a registered security key
/// and logs in with a plain one.
fn world(label: &str) -> World {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let config = AgentConfig {
        extra_yaml: format!("challenge:\n  tries: {TRIES}\n"),
        ..AgentConfig::with_env("prod")
    };
    let host = MfaSshd::start(
        &work,
        config,
        &bundle(&user.name, "false", "true", &[&registered]),
    );
    World {
        host,
        user,
        plain,
        work,
    }
}

impl World {
    fn agent(&self) -> &Agent {
        &self.host.agent
    }

    fn evidence(&self, out: &SshOutcome) -> String {
        format!("{}\n{}", out.describe(), self.agent().evidence())
    }
}

/// The prompts that carried a challenge.
fn challenges(out: &SshOutcome) -> usize {
    out.askpass
        .iter()
        .filter(|p| p.contains("MFA challenge pmfa1:"))
        .count()
}

#[test]
fn garbage_answers_get_one_round_of_tries_and_the_connection_ends() {
    require_root!();
    let w = world("tap-tries");
    let out = SshLogin::new(w.host.sshd.port, &w.user.name, &w.plain)
        .answer("hello")
        .password_prompts(CLIENT_ROUNDS)
        .run(&w.work, "id -un");
    let evidence = w.evidence(&out);
    assert_eq!(out.exit_code(), Some(255), "refused:\n{evidence}");
    assert!(!out.stdout().contains(&w.user.name), "{evidence}");
    assert_eq!(
        challenges(&out),
        TRIES,
        "one round of {TRIES} tries, not one for each of the client's {CLIENT_ROUNDS} rounds:\n{evidence}"
    );
    assert!(
        out.stderr().contains("no tries left"),
        "the last refusal says why:\n{evidence}"
    );
    let events = w.agent().audit_events();
    let refused = events
        .iter()
        .filter(|e| e["event"] == "answer_refused")
        .count();
    assert_eq!(refused, TRIES, "{evidence}");
    let denied: Vec<_> = decisions_for(&events, &w.user.name)
        .into_iter()
        .filter(|e| e["hook"] == "auth" && e["result"] == "deny")
        .collect();
    assert_eq!(denied.len(), 1, "one tap, one refusal:\n{evidence}");
    assert!(
        field(denied[0], "reason").contains("last answer refused"),
        "{evidence}"
    );
    // sshd refuses the client's next keyboard-interactive rounds unasked;
    // left no method, the client offers its own password prompt (sshd, with
    // PasswordAuthentication no, refuses the answer unread).
    // What README's troubleshooting row describes: the client's own
    // "password:" prompts, then sshd's "Too many authentication failures".
    let others: Vec<_> = out
        .askpass
        .iter()
        .filter(|p| !p.contains("MFA challenge pmfa1:"))
        .collect();
    assert!(
        !others.is_empty() && others.iter().all(|p| p.contains("'s password:")),
        "{evidence}"
    );
    assert!(
        out.stderr().contains("Too many authentication failures"),
        "{evidence}"
    );

    // A client that offers no password (as README suggests): the challenges
    // and nothing else.
    let mut login = SshLogin::new(w.host.sshd.port, &w.user.name, &w.plain)
        .answer("hello")
        .password_prompts(CLIENT_ROUNDS);
    login.extra_args = vec!["-o".into(), "PasswordAuthentication=no".into()];
    let out = login.run(&w.work, "id -un");
    let evidence = w.evidence(&out);
    assert_eq!(out.exit_code(), Some(255), "refused:\n{evidence}");
    assert_eq!(out.askpass.len(), TRIES, "{evidence}");
    assert_eq!(challenges(&out), TRIES, "{evidence}");
}
