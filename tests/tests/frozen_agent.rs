//! Deadlines the admin sets, with the agent frozen (SIGSTOP: its socket
//! still accepts, nothing answers): `mfactl authorized-keys --timeout` bounds
//! sshd's AuthorizedKeysCommand and says the agent did not answer, and the
//! module's `timeout=` bounds the PAM step, so a login is refused within
//! the two (each up to doubled by sshd's padding of failed attempts) plus a
//! margin.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// The AuthorizedKeysCommand's `--timeout` in this test, in seconds.
const KEYS_TIMEOUT: u64 = 2;

/// Slack for process start-up and sshd's own work on a loaded machine.
const MARGIN: Duration = Duration::from_secs(5);

/// Stops the agent for the guard's life; SIGCONT on drop, so the agent can
/// be stopped normally afterwards.
struct Frozen(i32);

impl Frozen {
    fn new(pid: i32) -> Frozen {
        // SAFETY: kill(2) on the agent's own pid, started by this test.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
fn a_frozen_agent_refuses_within_the_deadlines() {
    require_root!();
    let work = WorkDir::new("frozen");
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let sk = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let service = unique_name("sshd-mfat");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, "ssh"),
        &bundle(&user.name, "false", "true", &[&sk]),
    );
    let sshd = Sshd::start(
        &work,
        &SshdOptions::new(&sshd_stack(&agent.socket, ""))
            .keys_command(
                bins::require(&bins::mfactl()),
                &format!(
                    "--socket {} authorized-keys --timeout {KEYS_TIMEOUT}s %u",
                    agent.socket.display()
                ),
            )
            .service_name(&service),
    );
    // Served while the agent answers.
    let served = agent.mfactl(&["authorized-keys", &user.name]);
    assert!(served.stdout.contains(sk.blob()), "{served:?}");

    let frozen = Frozen::new(agent.pid().expect("agent pid"));
    // By hand: the command gives up after its --timeout and says why.
    let t = Instant::now();
    let by_hand = Command::new(bins::mfactl())
        .arg("--socket")
        .arg(&agent.socket)
        .args(["authorized-keys", "--timeout", "1500ms", &user.name])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert_eq!(by_hand.status.code(), Some(2), "{by_hand:?}");
    assert!(by_hand.stdout.is_empty(), "{by_hand:?}");
    let err = String::from_utf8_lossy(&by_hand.stderr);
    assert!(err.contains("did not answer within 1500ms"), "{err}");
    assert!(took < Duration::from_millis(1500) + MARGIN, "{took:?}");

    // Through sshd: the registered sk key first (sshd asks the frozen agent
    // through the AuthorizedKeysCommand), then the plain key (from the
    // file), whose keyboard-interactive step waits on the module.
    let mut login = SshLogin::new(sshd.port, &user.name, &sk).answer("1234");
    login.extra_args = vec!["-i".into(), plain.private.display().to_string()];
    login.timeout = Duration::from_secs(60);
    let from = sshd.log_len();
    let t = Instant::now();
    let out = login.run(&work, "id -un");
    let took = t.elapsed();
    drop(frozen);
    let evidence = format!("{}\n--- sshd log\n{}", out.describe(), sshd.log_since(from));
    assert_eq!(out.exit_code(), Some(255), "{evidence}");
    assert!(!out.stdout().contains(&user.name), "{evidence}");
    // sshd pads every failed attempt to the next doubling of its minimum
    // delay (ensure_minimum_time_since), so each wait can count up to twice.
    let bound = Duration::from_secs(2 * (KEYS_TIMEOUT + MODULE_TIMEOUT)) + MARGIN;
    assert!(
        took < bound,
        "refused after {took:?}, bound {bound:?}:\n{evidence}"
    );
    let log = sshd.log_since(from);
    assert!(
        log.contains("AuthorizedKeysCommand") && log.contains("keyboard-interactive"),
        "both steps ran:\n{evidence}"
    );
}
