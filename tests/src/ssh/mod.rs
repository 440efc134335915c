//! The OpenSSH client, run non-interactively with a scripted `SSH_ASKPASS`.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::bins::SK_DUMMY;
use crate::keys::SshKey;
use crate::process::{run_with_timeout, Finished};
use crate::workdir::WorkDir;

/// Separates askpass calls in the transcript.
const RECORD_END: &str = "\n--8<-- askpass --8<--\n";

/// The askpass script: logs its prompt ($1) and prints the configured answer.
/// Notices (`SSH_ASKPASS_PROMPT=none`, e.g. "Confirm user presence") are logged too.
const ASKPASS: &str = r#"#!/bin/sh
dir=$(dirname "$0")
printf '%s[%s]\n--8<-- askpass --8<--\n' "$1" "${SSH_ASKPASS_PROMPT:-}" >> "$dir/transcript"
[ "${SSH_ASKPASS_PROMPT:-}" = none ] && exit 0
cat "$dir/answer"
"#;

/// The askpass wrapper for `mfactl tap`: logs the prompt like [`ASKPASS`],
/// then lets mfactl answer it (a challenge, or an ordinary prompt).
const TAP_ASKPASS: &str = r#"#!/bin/sh
dir=$(dirname "$0")
printf '%s[%s]\n--8<-- askpass --8<--\n' "$1" "${SSH_ASKPASS_PROMPT:-}" >> "$dir/transcript"
[ "${SSH_ASKPASS_PROMPT:-}" = none ] && exit 0
exec "$(cat "$dir/mfactl")" tap "$1" 2>>"$dir/tap.stderr"
"#;

/// The options every test's ssh client uses, before the destination: no
/// config file, only `key`, no host key checks, the sk-dummy provider,
/// prompts through askpass, port `port` on loopback.
pub fn client_args(key: &Path, port: u16) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-F".into(), "/dev/null".into(), "-i".into(), key.into()];
    for option in [
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "GlobalKnownHostsFile=/dev/null",
        &format!("SecurityKeyProvider={SK_DUMMY}"),
        "BatchMode=no",
        "ConnectTimeout=10",
        "LogLevel=INFO",
    ] {
        args.push("-o".into());
        args.push(option.into());
    }
    args.push("-p".into());
    args.push(port.to_string().into());
    args
}

/// One ssh invocation.
#[derive(Debug, Clone)]
pub struct SshLogin {
    pub port: u16,
    pub user: String,
    pub key: PathBuf,
    /// What askpass answers to every prompt (a PIN, a challenge answer).
    pub askpass_answer: String,
    pub timeout: Duration,
    /// Extra `-o` options or flags, placed before the destination.
    pub extra_args: Vec<String>,
    /// When set, askpass is `mfactl tap` (this binary) instead of the fixed answer.
    pub tap_with: Option<PathBuf>,
    /// `SSH_AUTH_SOCK` for the client (and so for `mfactl tap`).
    pub agent_socket: Option<PathBuf>,
    /// More environment for the client (and so for askpass).
    pub extra_env: Vec<(String, String)>,
    /// A command the client runs under (e.g. `nsenter --target=PID --mount --`
    /// to reach a private pcscd); empty: none.
    pub wrapper: Vec<String>,
    /// The client's `NumberOfPasswordPrompts`: how many keyboard-interactive
    /// rounds it starts. 1 unless set (OpenSSH's own default is 3).
    pub password_prompts: u32,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct SshOutcome {
    pub finished: Finished,
    /// Every askpass prompt, in order, each followed by `[<SSH_ASKPASS_PROMPT>]`.
    pub askpass: Vec<String>,
}

impl SshOutcome {
    pub fn exit_code(&self) -> Option<i32> {
        self.finished.code
    }

    pub fn success(&self) -> bool {
        self.finished.success()
    }

    pub fn stdout(&self) -> &str {
        &self.finished.stdout
    }

    pub fn stderr(&self) -> &str {
        &self.finished.stderr
    }

    /// stdout, stderr and the askpass transcript, for assertions and failure messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {:?} (signal {:?}, timed out {}, {:?})\n--- stdout\n{}\n--- stderr\n{}\n--- askpass\n{}",
            self.finished.code,
            self.finished.signal,
            self.finished.timed_out,
            self.finished.elapsed,
            self.finished.stdout,
            self.finished.stderr,
            self.askpass.join("\n")
        )
    }
}

impl SshLogin {
    pub fn new(port: u16, user: &str, key: &SshKey) -> SshLogin {
        SshLogin {
            port,
            user: user.to_string(),
            key: key.private.clone(),
            askpass_answer: String::new(),
            timeout: Duration::from_secs(20),
            extra_args: Vec::new(),
            tap_with: None,
            agent_socket: None,
            extra_env: Vec::new(),
            wrapper: Vec::new(),
            password_prompts: 1,
        }
    }

    /// Answers prompts with `mfactl tap`, signing through the ssh-agent at `agent`.
    pub fn tap(mut self, mfactl: &std::path::Path, agent: &std::path::Path) -> SshLogin {
        self.tap_with = Some(mfactl.to_path_buf());
        self.agent_socket = Some(agent.to_path_buf());
        self
    }

    pub fn answer(mut self, a: &str) -> SshLogin {
        self.askpass_answer = a.to_string();
        self
    }

    /// Lets the client start `n` keyboard-interactive rounds, as a person's
    /// ssh does (OpenSSH's default `NumberOfPasswordPrompts` is 3).
    pub fn password_prompts(mut self, n: u32) -> SshLogin {
        self.password_prompts = n;
        self
    }

    /// Runs `ssh ... USER@127.0.0.1 CMD` in its own session with stdin from
    /// /dev/null; killed (whole process group) past the timeout.
    pub fn run(&self, work: &WorkDir, remote_cmd: &str) -> SshOutcome {
        let dir = work.subdir(&crate::unique_name("ssh-"), 0o700);
        let askpass = dir.join("askpass");
        let script = if self.tap_with.is_some() {
            TAP_ASKPASS
        } else {
            ASKPASS
        };
        std::fs::write(&askpass, script).expect("write askpass");
        if let Some(m) = &self.tap_with {
            std::fs::write(dir.join("mfactl"), m.display().to_string()).expect("mfactl path");
        }
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        std::fs::write(dir.join("answer"), format!("{}\n", self.askpass_answer)).expect("answer");
        let mut cmd = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg("ssh");
                c
            }
            None => Command::new("ssh"),
        };
        cmd.args(client_args(&self.key, self.port))
            .arg("-o")
            .arg(format!("NumberOfPasswordPrompts={}", self.password_prompts))
            .args(&self.extra_args)
            .arg(format!("{}@127.0.0.1", self.user))
            .arg(remote_cmd)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("SSH_SK_PROVIDER");
        if let Some(sock) = &self.agent_socket {
            cmd.env("SSH_AUTH_SOCK", sock);
        }
        cmd.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        let finished = run_with_timeout(&mut cmd, self.timeout);
        // Kept for post-mortems with PAM_MFA_KEEP=1.
        let _ = std::fs::write(dir.join("stdout"), &finished.stdout);
        let _ = std::fs::write(dir.join("stderr"), &finished.stderr);
        let _ = std::fs::write(dir.join("command"), format!("{cmd:?}\n"));
        let transcript = std::fs::read_to_string(dir.join("transcript")).unwrap_or_default();
        let askpass = transcript
            .split(RECORD_END)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        SshOutcome { finished, askpass }
    }
}
