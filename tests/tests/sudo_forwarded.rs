//! sudo inside an SSH session on a prod node, with real sshd, ssh and sudo:
//! the agent asks the person's forwarded ssh-agent to sign a challenge with
//! the registered security key, and falls back to the `MFA challenge` prompt
//! (answerable with `mfactl tap`) when there is no usable forwarded agent.
//!
//! sudo runs in sshd's private mount namespace, with its own PAM service
//! (`sudo-mfat<random>`, a file in sshd's private `/etc/pam.d`) chosen by a
//! private sudoers bound over `/etc/sudoers` there; the host's files are
//! never touched. The SSH login itself uses the registered sk key, which
//! satisfies the prod node's session MFA for the login.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::{in_new_session, run_with_timeout};
use pam_mfa_e2e::ssh::{client_args, SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use serde_json::Value;

/// The module's deadline in the sudo service (its default).
const SUDO_MODULE_TIMEOUT: u64 = 10;

/// What the remote side runs: which agent socket the session has, then sudo
/// with no terminal and nothing on its standard input.
const SUDO_NO_INPUT: &str =
    "echo \"SSH_AUTH_SOCK=${SSH_AUTH_SOCK:-}\"; sudo -S -p 'SUDO-PROMPT:' id -un </dev/null";

/// The same, with sudo reading the answer from the ssh channel.
const SUDO_FROM_CHANNEL: &str =
    "echo \"SSH_AUTH_SOCK=${SSH_AUTH_SOCK:-}\"; sudo -S -p 'SUDO-PROMPT:' id -un";

/// The marker of the fallback prompt.
const CHALLENGE_MARK: &str = "MFA challenge pmfa1:";

struct SudoWorld {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    registered: SshKey,
    stranger: SshKey,
    sudo_service: String,
    work: WorkDir,
}

/// The sudo service: pam_mfa decides authentication; account and session
/// are stock.
fn sudo_stack(socket: &std::path::Path) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    format!(
        "auth required {} socket={} timeout={SUDO_MODULE_TIMEOUT}\n\
account required pam_permit.so\nsession required pam_permit.so\n",
        module.display(),
        socket.display()
    )
}

/// A private sudoers: the user may run anything after authenticating through
/// the test's PAM service (no NOPASSWD: sudo would skip PAM authentication).
///
/// `!passprompt_override`: `sudo -p` (like `SUDO_PROMPT`) otherwise replaces
/// every PAM prompt with its own text, and the challenge would not be shown.
/// `keep_auth_sock` adds `env_keep += SSH_AUTH_SOCK`.
fn sudoers(user: &str, service: &str, keep_auth_sock: bool) -> String {
    let keep = if keep_auth_sock {
        "Defaults env_keep += \"SSH_AUTH_SOCK\"\n"
    } else {
        ""
    };
    format!(
        "Defaults !requiretty, !lecture, !fqdn\n{keep}\
Defaults:{user} pam_service={service}, timestamp_timeout=0, passwd_tries=1, !passprompt_override\n\
root ALL=(ALL:ALL) ALL\n\
{user} ALL=(ALL:ALL) ALL\n"
    )
}

/// A prod node (access-prod requires session MFA), the user's registered
/// ed25519-sk key served by `mfactl authorized-keys`, and `stranger`, an sk
/// key registered to nobody.
fn sudo_world(label: &str, keep_auth_sock: bool) -> SudoWorld {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let stranger = SshKey::generate(work.path(), "id_stranger", KeyKind::Ed25519Sk, false);
    let sshd_service = unique_name("sshd-mfat");
    let sudo_service = unique_name("sudo-mfat");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod")
            .service(&sshd_service, "ssh")
            .service(&sudo_service, "admin"),
        &bundle(&user.name, "false", "true", &[&registered]),
    );
    let sshd = Sshd::start(
        &work,
        &SshdOptions::pam_mfa(&agent.socket, &sshd_service)
            .pam_service_file(&sudo_service, &sudo_stack(&agent.socket))
            .sudoers(&sudoers(&user.name, &sudo_service, keep_auth_sock)),
    );
    SudoWorld {
        sshd,
        agent,
        user,
        registered,
        stranger,
        sudo_service,
        work,
    }
}

impl SudoWorld {
    /// Logs in with the registered key and runs `remote`; with `forward`,
    /// the client forwards the ssh-agent at that socket (`ssh -A`).
    fn ssh(&self, forward: Option<&TestSshAgent>, remote: &str) -> SshOutcome {
        let mut login = SshLogin::new(self.sshd.port, &self.user.name, &self.registered);
        login.timeout = Duration::from_secs(30);
        if let Some(a) = forward {
            login.agent_socket = Some(a.socket.clone());
            login.extra_args.push("-A".into());
        }
        login.run(&self.work, remote)
    }

    fn evidence(&self, what: &str, log_from: usize) -> String {
        format!(
            "{what}\n--- sshd log (this attempt)\n{}\n{}",
            self.sshd.log_since(log_from),
            self.agent.evidence()
        )
    }

    /// Waits (bounded) for the auth decision of the sudo service.
    fn sudo_decision(&self, log_from: usize, what: &str) -> Value {
        let service = self.sudo_service.clone();
        self.agent
            .wait_audit(Duration::from_secs(5), |e| {
                e["event"] == "decision" && e["service"] == service.as_str() && e["hook"] == "auth"
            })
            .unwrap_or_else(|| {
                panic!(
                    "no auth decision for {service}:\n{}",
                    self.evidence(what, log_from)
                )
            })
    }

    fn sudo_events(&self) -> Vec<Value> {
        self.agent
            .audit_events()
            .into_iter()
            .filter(|e| e["service"] == self.sudo_service.as_str())
            .collect()
    }
}

/// The `SSH_AUTH_SOCK=` line the remote command printed.
fn remote_auth_sock(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("SSH_AUTH_SOCK="))
        .unwrap_or_default()
}

/// The challenge token of the first fallback prompt in `text`.
fn challenge_in(text: &str) -> Option<String> {
    let i = text.find(CHALLENGE_MARK)? + "MFA challenge ".len();
    let rest = &text[i..];
    let end = rest.find(char::is_whitespace)?;
    Some(rest[..end].to_string())
}

/// sudo in a session whose client forwards an ssh-agent holding the
/// registered key: no prompt, the agent's signature is the tap.
fn forwarded_registered_key_lets_sudo_through(label: &str, keep_auth_sock: bool) {
    let w = sudo_world(label, keep_auth_sock);
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.registered, None);
    let from = w.sshd.log_len();
    let out = w.ssh(Some(&ssh_agent), SUDO_NO_INPUT);
    let what = out.describe();
    assert!(
        out.success(),
        "sudo with the forwarded agent should succeed:\n{}",
        w.evidence(&what, from)
    );
    assert!(
        remote_auth_sock(out.stdout()).starts_with("/tmp/ssh-"),
        "the session has a forwarded agent:\n{}",
        w.evidence(&what, from)
    );
    assert_eq!(
        out.stdout().lines().last().map(str::trim),
        Some("root"),
        "{}",
        w.evidence(&what, from)
    );
    assert!(
        !out.stderr().contains(CHALLENGE_MARK),
        "no fallback prompt when the forwarded agent signs:\n{}",
        w.evidence(&what, from)
    );
    let d = w.sudo_decision(from, &what);
    assert_event_shape(&d);
    assert_eq!(d["result"], "allow", "{}", w.evidence(&what, from));
    assert!(
        field(&d, "evidence").starts_with("forwarded_agent_ssh_sk"),
        "{d}"
    );
    assert_eq!(field(&d, "login"), w.user.name, "{d}");
    assert_eq!(field(&d, "user"), w.user.name, "{d}");
    assert_eq!(field(&d, "node"), "e2e-prod", "{d}");
    assert_eq!(field(&d, "requirement"), "session", "{d}");
    assert!(
        w.sudo_events().iter().all(|e| e["result"] != "deny"),
        "{}",
        w.evidence(&what, from)
    );
}

/// The product's promise: pam_mfa finds `SSH_AUTH_SOCK` in sudo's own
/// environment, so sudoers needs no `env_keep` for it.
#[test]
fn forwarded_agent_with_the_registered_key_lets_sudo_through() {
    require_root!();
    forwarded_registered_key_lets_sudo_through("sudo-fwd-ok", false);
}

/// The same with `Defaults env_keep += SSH_AUTH_SOCK` in sudoers.
#[test]
fn forwarded_agent_with_the_registered_key_and_env_keep_lets_sudo_through() {
    require_root!();
    forwarded_registered_key_lets_sudo_through("sudo-fwd-keep", true);
}

#[test]
fn forwarded_agent_without_a_registered_key_falls_back_to_the_prompt() {
    require_root!();
    // env_keep: this case is about the agent's answer to an ssh-agent that
    // holds the wrong key, not about finding the socket (see the first test).
    let w = sudo_world("sudo-fwd-stranger", true);
    // The client's agent holds only a key registered to nobody; the login
    // itself uses the registered key's file.
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.stranger, None);
    let from = w.sshd.log_len();
    let out = w.ssh(Some(&ssh_agent), SUDO_NO_INPUT);
    let what = out.describe();
    assert!(
        remote_auth_sock(out.stdout()).starts_with("/tmp/ssh-"),
        "the session has a forwarded agent:\n{}",
        w.evidence(&what, from)
    );
    assert_eq!(out.exit_code(), Some(1), "{}", w.evidence(&what, from));
    assert!(
        !out.stdout().lines().any(|l| l.trim() == "root"),
        "{}",
        w.evidence(&what, from)
    );
    assert!(
        out.stderr().contains(CHALLENGE_MARK),
        "the fallback prompt reaches sudo's output:\n{}",
        w.evidence(&what, from)
    );
    // sudo passes PAM_SILENT: the guidance rides in the prompt (stderr).
    assert!(
        out.stderr().contains("Tap your security key"),
        "the guidance reaches sudo's output:\n{}",
        w.evidence(&what, from)
    );
    let d = w.sudo_decision(from, &what);
    assert_event_shape(&d);
    assert_eq!(d["result"], "deny", "{}", w.evidence(&what, from));
    let reason = field(&d, "reason");
    assert!(
        reason.contains("forwarded ssh-agent: it holds no registered security key"),
        "{d}"
    );
    assert!(
        w.sudo_events()
            .iter()
            .all(|e| !field(e, "evidence").starts_with("forwarded_agent")),
        "{}",
        w.evidence(&what, from)
    );
}

#[test]
fn no_forwarded_agent_prompts_and_nothing_answers() {
    require_root!();
    let w = sudo_world("sudo-nofwd", false);
    let from = w.sshd.log_len();
    let out = w.ssh(None, SUDO_NO_INPUT);
    let what = out.describe();
    assert_eq!(
        remote_auth_sock(out.stdout()),
        "",
        "no agent without -A:\n{}",
        w.evidence(&what, from)
    );
    assert_eq!(out.exit_code(), Some(1), "{}", w.evidence(&what, from));
    assert!(
        !out.stdout().lines().any(|l| l.trim() == "root"),
        "{}",
        w.evidence(&what, from)
    );
    assert!(
        out.stderr().contains(CHALLENGE_MARK),
        "the fallback prompt reaches sudo's output:\n{}",
        w.evidence(&what, from)
    );
    // sudo passes PAM_SILENT: the guidance rides in the prompt (stderr).
    assert!(
        out.stderr().contains("Tap your security key"),
        "the guidance reaches sudo's output:\n{}",
        w.evidence(&what, from)
    );
    let d = w.sudo_decision(from, &what);
    assert_event_shape(&d);
    assert_eq!(d["result"], "deny", "{}", w.evidence(&what, from));
    assert!(
        !field(&d, "reason").contains("forwarded ssh-agent"),
        "no forwarded agent was tried: {d}"
    );
    // Nothing answered: the module cancelled, or the empty answer was refused.
    let events = w.sudo_events();
    assert!(
        field(&d, "reason").contains("cancelled")
            || events
                .iter()
                .any(|e| e["event"] == "answer_refused" && e["result"] == "deny"),
        "{}",
        w.evidence(&what, from)
    );
}

/// A bounded ssh run whose stdin the test writes to once it has seen the
/// challenge on the remote side's standard error.
struct Interactive {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    })
}

impl Interactive {
    fn start(w: &SudoWorld, remote: &str) -> Interactive {
        let mut cmd = Command::new("ssh");
        cmd.args(client_args(&w.registered.private, w.sshd.port))
            .arg(format!("{}@127.0.0.1", w.user.name))
            .arg(remote)
            // Only "Confirm user presence" notices go to askpass.
            .env("SSH_ASKPASS", "/bin/true")
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("SSH_SK_PROVIDER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        in_new_session(&mut cmd);
        let mut child = cmd.spawn().expect("spawn ssh");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), stdout.clone()),
            collect(child.stderr.take().expect("stderr"), stderr.clone()),
        ];
        Interactive {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8_lossy(&buf.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    fn stdout(&self) -> String {
        Interactive::text(&self.stdout)
    }

    fn stderr(&self) -> String {
        Interactive::text(&self.stderr)
    }

    fn describe(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits (bounded) for the fallback prompt; its challenge token.
    fn wait_challenge(&mut self, deadline: Duration) -> Option<String> {
        let end = Instant::now() + deadline;
        while Instant::now() < end {
            if let Some(c) = challenge_in(&self.stderr()) {
                return Some(c);
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return challenge_in(&self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn answer(&mut self, line: &str) {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write the answer");
        // Dropping stdin closes the channel's input: sudo reads no more.
    }

    /// Waits (bounded) for ssh to exit; its exit code (None on a signal or timeout).
    fn finish(&mut self, deadline: Duration) -> Option<i32> {
        drop(self.child.stdin.take());
        let end = Instant::now() + deadline;
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(st)) => break st.code(),
                Ok(None) if Instant::now() >= end => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for ssh: {e}"),
            }
        };
        self.kill();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        code
    }

    fn kill(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: kill on our own child's process group (a session leader).
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn the_fallback_prompt_is_answered_with_mfactl_tap() {
    require_root!();
    let w = sudo_world("sudo-tap", false);
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.registered, None);
    let from = w.sshd.log_len();
    let mut run = Interactive::start(&w, SUDO_FROM_CHANNEL);
    let challenge = run.wait_challenge(Duration::from_secs(20));
    let Some(challenge) = challenge else {
        let what = run.describe();
        panic!("no challenge prompt:\n{}", w.evidence(&what, from));
    };
    assert!(
        challenge.contains(&format!(":{}:", w.user.name)),
        "the challenge names the invoking login: {challenge}"
    );
    // The person runs mfactl tap on their computer, with their own agent.
    let tap = run_with_timeout(
        Command::new(bins::require(&bins::mfactl()))
            .args(["tap", &challenge])
            .env("SSH_AUTH_SOCK", &ssh_agent.socket),
        Duration::from_secs(15),
    );
    assert!(tap.success(), "mfactl tap: {tap:?}");
    let answer = tap.stdout.trim().to_string();
    assert!(answer.starts_with("sk1."), "{answer}");
    run.answer(&answer);
    let code = run.finish(Duration::from_secs(20));
    let what = format!("exit {code:?}\n{}", run.describe());
    assert_eq!(code, Some(0), "{}", w.evidence(&what, from));
    assert_eq!(
        run.stdout().lines().last().map(str::trim),
        Some("root"),
        "{}",
        w.evidence(&what, from)
    );
    let d = w.sudo_decision(from, &what);
    assert_event_shape(&d);
    assert_eq!(d["result"], "allow", "{}", w.evidence(&what, from));
    assert_eq!(field(&d, "evidence"), "tap_ssh_sk_touch", "{d}");
}
