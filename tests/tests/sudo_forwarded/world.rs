//! What the sudo_forwarded tests share: a world of an agent, an sshd with a
//! private sudoers and sudo PAM service, a user with a registered sk key and
//! a stranger's; the remote commands they run, and an ssh run the test
//! answers on its standard input once the challenge shows (`Interactive`).

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::process::in_new_session;
use pam_mfa_e2e::ssh::{client_args, SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use serde_json::Value;

/// The module's deadline in the sudo service (its default).
pub(crate) const SUDO_MODULE_TIMEOUT: u64 = 10;

/// What the remote side runs: which agent socket the session has, then sudo
/// with no terminal and nothing on its standard input.
pub(crate) const SUDO_NO_INPUT: &str =
    "echo \"SSH_AUTH_SOCK=${SSH_AUTH_SOCK:-}\"; sudo -S -p 'SUDO-PROMPT:' id -un </dev/null";

/// The same, with sudo reading the answer from the ssh channel.
pub(crate) const SUDO_FROM_CHANNEL: &str =
    "echo \"SSH_AUTH_SOCK=${SSH_AUTH_SOCK:-}\"; sudo -S -p 'SUDO-PROMPT:' id -un";

/// The cue sudo shows before the forwarded ssh-agent is asked to sign with
/// the user's registered key (`bundle` names it `<login>-sk0`).
pub(crate) fn forwarded_cue(w: &SudoWorld) -> String {
    format!(
        "pam-mfa: Tap your security key {}-sk0 (through your forwarded ssh-agent) for {} on e2e-prod",
        w.user.name, w.sudo_service
    )
}

/// The marker of the fallback prompt.
pub(crate) const CHALLENGE_MARK: &str = "MFA challenge pmfa1:";

pub(crate) struct SudoWorld {
    pub(crate) sshd: Sshd,
    pub(crate) agent: Agent,
    pub(crate) user: TestUser,
    pub(crate) registered: SshKey,
    pub(crate) stranger: SshKey,
    pub(crate) sudo_service: String,
    pub(crate) work: WorkDir,
    /// The hook whose decision lets sudo through: `auth`, or `account` with
    /// NOPASSWD (sudo then runs no auth stack).
    pub(crate) deciding_hook: &'static str,
}

/// The sudo service as config/pam.d/sudo has it: pam_mfa.so in auth and in
/// account (where it counts auth's tap, or with NOPASSWD, when sudo runs no
/// auth stack, asks for it); session is stock.
pub(crate) fn sudo_stack(socket: &std::path::Path) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let line = format!(
        "required {} socket={} timeout={SUDO_MODULE_TIMEOUT}",
        module.display(),
        socket.display()
    );
    format!("auth {line}\naccount {line}\nsession required pam_permit.so\n")
}

/// A private sudoers: the user may run anything after authenticating through
/// the test's PAM service (no NOPASSWD: sudo would skip PAM authentication).
///
/// `!passprompt_override`: `sudo -p` (like `SUDO_PROMPT`) otherwise replaces
/// every PAM prompt with its own text, and the challenge would not be shown.
/// `keep_auth_sock` adds `env_keep += SSH_AUTH_SOCK`.
pub(crate) fn sudoers(user: &str, service: &str, keep_auth_sock: bool, nopasswd: bool) -> String {
    let keep = if keep_auth_sock {
        "Defaults env_keep += \"SSH_AUTH_SOCK\"\n"
    } else {
        ""
    };
    let tag = if nopasswd { "NOPASSWD: " } else { "" };
    format!(
        "Defaults !requiretty, !lecture, !fqdn\n{keep}\
Defaults:{user} pam_service={service}, timestamp_timeout=0, passwd_tries=1, !passprompt_override\n\
root ALL=(ALL:ALL) ALL\n\
{user} ALL=(ALL:ALL) {tag}ALL\n"
    )
}

/// A prod node (access-prod requires session MFA), the user's registered
/// ed25519-sk key served by `mfactl authorized-keys`, and `stranger`, an sk
/// key registered to nobody.
pub(crate) fn sudo_world(label: &str, keep_auth_sock: bool) -> SudoWorld {
    sudo_world_with(label, keep_auth_sock, false)
}

/// As [`sudo_world`]; with `nopasswd`, the user's sudoers rule is NOPASSWD
/// (sudo then runs no auth stack: account decides).
pub(crate) fn sudo_world_with(label: &str, keep_auth_sock: bool, nopasswd: bool) -> SudoWorld {
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
            .sudoers(&sudoers(
                &user.name,
                &sudo_service,
                keep_auth_sock,
                nopasswd,
            )),
    );
    SudoWorld {
        sshd,
        agent,
        user,
        registered,
        stranger,
        sudo_service,
        work,
        deciding_hook: if nopasswd { "account" } else { "auth" },
    }
}

impl SudoWorld {
    /// sudo showed the fallback prompt (with the tap guidance: sudo passes
    /// PAM_SILENT, so it rides in the prompt on stderr), nothing answered it,
    /// and the agent denied: sudo exited 1 without running the command.
    /// Returns the denial's audit event.
    pub(crate) fn assert_refused_at_the_prompt(&self, out: &SshOutcome, from: usize) -> Value {
        let what = out.describe();
        assert_eq!(out.exit_code(), Some(1), "{}", self.evidence(&what, from));
        assert!(
            !out.stdout().lines().any(|l| l.trim() == "root"),
            "{}",
            self.evidence(&what, from)
        );
        assert!(
            out.stderr().contains(CHALLENGE_MARK),
            "the fallback prompt reaches sudo's output:\n{}",
            self.evidence(&what, from)
        );
        assert!(
            out.stderr().contains("Tap your security key"),
            "the guidance reaches sudo's output:\n{}",
            self.evidence(&what, from)
        );
        let d = self.sudo_decision(from, &what);
        assert_event_shape(&d);
        assert_eq!(d["result"], "deny", "{}", self.evidence(&what, from));
        d
    }

    /// sudo ran the command as root, and the deciding hook allowed it on the
    /// forwarded ssh-agent's signature. Returns that decision.
    pub(crate) fn assert_let_through_by_the_forwarded_key(
        &self,
        out: &SshOutcome,
        from: usize,
    ) -> Value {
        let what = out.describe();
        assert!(out.success(), "{}", self.evidence(&what, from));
        // Without a terminal sudo prints PAM's info messages (the cue) on its
        // buffered standard output: they come out when sudo exits.
        assert_eq!(
            out.stdout()
                .lines()
                .map(str::trim)
                .rfind(|l| !l.starts_with("pam-mfa: ")),
            Some("root"),
            "{}",
            self.evidence(&what, from)
        );
        let d = self.sudo_decision(from, &what);
        assert_event_shape(&d);
        assert_eq!(d["result"], "allow", "{}", self.evidence(&what, from));
        assert!(
            field(&d, "evidence").starts_with("forwarded_agent_ssh_sk"),
            "{d}"
        );
        d
    }

    /// Logs in with the registered key and runs `remote`; with `forward`,
    /// the client forwards the ssh-agent at that socket (`ssh -A`).
    pub(crate) fn ssh(&self, forward: Option<&TestSshAgent>, remote: &str) -> SshOutcome {
        let mut login = SshLogin::new(self.sshd.port, &self.user.name, &self.registered);
        login.timeout = Duration::from_secs(30);
        if let Some(a) = forward {
            login.agent_socket = Some(a.socket.clone());
            login.extra_args.push("-A".into());
        }
        login.run(&self.work, remote)
    }

    pub(crate) fn evidence(&self, what: &str, log_from: usize) -> String {
        format!(
            "{what}\n--- sshd log (this attempt)\n{}\n{}",
            self.sshd.log_since(log_from),
            self.agent.evidence()
        )
    }

    /// Waits (bounded) for the sudo service's decision in the hook that
    /// decides it ([`SudoWorld::deciding_hook`]).
    pub(crate) fn sudo_decision(&self, log_from: usize, what: &str) -> Value {
        let service = self.sudo_service.clone();
        let hook = self.deciding_hook;
        self.agent
            .wait_audit(Duration::from_secs(5), |e| {
                e["event"] == "decision" && e["service"] == service.as_str() && e["hook"] == hook
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {hook} decision for {service}:\n{}",
                    self.evidence(what, log_from)
                )
            })
    }

    pub(crate) fn sudo_events(&self) -> Vec<Value> {
        self.agent
            .audit_events()
            .into_iter()
            .filter(|e| e["service"] == self.sudo_service.as_str())
            .collect()
    }
}

/// The `SSH_AUTH_SOCK=` line the remote command printed.
pub(crate) fn remote_auth_sock(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("SSH_AUTH_SOCK="))
        .unwrap_or_default()
}

/// The challenge token of the first fallback prompt in `text`.
pub(crate) fn challenge_in(text: &str) -> Option<String> {
    let i = text.find(CHALLENGE_MARK)? + "MFA challenge ".len();
    let rest = &text[i..];
    let end = rest.find(char::is_whitespace)?;
    Some(rest[..end].to_string())
}

/// A bounded ssh run whose stdin the test writes to once it has seen the
/// challenge on the remote side's standard error.
pub(crate) struct Interactive {
    pub(crate) child: Child,
    pub(crate) stdout: Arc<Mutex<Vec<u8>>>,
    pub(crate) stderr: Arc<Mutex<Vec<u8>>>,
    pub(crate) readers: Vec<JoinHandle<()>>,
}

pub(crate) fn collect(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> JoinHandle<()> {
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
    pub(crate) fn start(w: &SudoWorld, remote: &str) -> Interactive {
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

    pub(crate) fn text(buf: &Arc<Mutex<Vec<u8>>>) -> String {
        String::from_utf8_lossy(&buf.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    pub(crate) fn stdout(&self) -> String {
        Interactive::text(&self.stdout)
    }

    pub(crate) fn stderr(&self) -> String {
        Interactive::text(&self.stderr)
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Waits (bounded) for the fallback prompt; its challenge token.
    pub(crate) fn wait_challenge(&mut self, deadline: Duration) -> Option<String> {
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

    pub(crate) fn answer(&mut self, line: &str) {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write the answer");
        // Dropping stdin closes the channel's input: sudo reads no more.
    }

    /// Waits (bounded) for ssh to exit; its exit code (None on a signal or timeout).
    pub(crate) fn finish(&mut self, deadline: Duration) -> Option<i32> {
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

    pub(crate) fn kill(&mut self) {
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
