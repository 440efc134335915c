//! A PAM service in a private configuration directory, run through `pam-harness`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::bins;
use crate::process::{run_with_timeout, Finished};
use crate::workdir::{write_atomic, WorkDir};

/// One service file in its own confdir.
pub struct PamStack {
    pub confdir: PathBuf,
    pub service: String,
}

/// Arguments for one harness run.
#[derive(Debug, Clone, Default)]
pub struct HarnessRun {
    pub user: String,
    pub ruser: Option<String>,
    pub rhost: Option<String>,
    pub tty: Option<String>,
    pub env: Vec<String>,
    pub answers: Vec<String>,
    /// `auth`, `account`, `auth+account` or `session`.
    pub op: String,
    pub timeout: Option<Duration>,
    /// When set, the harness runs in a private mount namespace whose `/dev/log`
    /// is this capture (see [`crate::syslog`]).
    pub syslog: Option<(PathBuf, PathBuf)>,
    /// An info message containing this is answered with `PAM_CONV_ERR` (a
    /// greeter whose user pressed Cancel).
    pub give_up_on_info: Option<String>,
    /// Runs the harness in a new pid namespace (as sshd in a container that
    /// shares the host's agent socket): the agent's pid is then invisible
    /// to it, and SO_PEERCRED says pid 0.
    pub own_pid_namespace: bool,
    /// Harness flags whose values are bytes (`--user`, `--ruser`, `--rhost`,
    /// `--tty`), given after the fields above and so replacing them: names
    /// that are not UTF-8.
    pub bytes: Vec<(&'static str, Vec<u8>)>,
}

impl HarnessRun {
    pub fn new(user: &str, op: &str) -> HarnessRun {
        HarnessRun {
            user: user.into(),
            op: op.into(),
            ..HarnessRun::default()
        }
    }

    pub fn syslog_to(mut self, capture: &crate::syslog::SyslogCapture) -> HarnessRun {
        self.syslog = Some((capture.socket.clone(), capture.hostdev.clone()));
        self
    }
}

/// What the harness printed.
#[derive(Debug, Clone)]
pub struct HarnessOutcome {
    pub finished: Finished,
    /// `auth` / `account` / `session` -> PAM code name, from the RESULT line.
    pub results: BTreeMap<String, String>,
    /// `INFO:` lines' text.
    pub infos: Vec<String>,
    /// `ERROR:` lines' text.
    pub errors: Vec<String>,
    /// `PROMPT(...)` lines, whole.
    pub prompts: Vec<String>,
}

impl HarnessOutcome {
    pub fn exit_code(&self) -> Option<i32> {
        self.finished.code
    }

    /// The code name for `op` (`"PAM_SUCCESS"`, ...), or `""`.
    pub fn result(&self, op: &str) -> &str {
        self.results.get(op).map(String::as_str).unwrap_or("")
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {:?} (timed out {}, {:?})\n--- stdout\n{}\n--- stderr\n{}",
            self.finished.code,
            self.finished.timed_out,
            self.finished.elapsed,
            self.finished.stdout,
            self.finished.stderr
        )
    }
}

impl PamStack {
    /// Writes `<workdir>/pamconf-<random>/<service>` with `text`.
    pub fn new(work: &WorkDir, service: &str, text: &str) -> PamStack {
        let confdir = work.subdir(&crate::unique_name("pamconf-"), 0o755);
        write_atomic(&confdir.join(service), text, 0o644);
        PamStack {
            confdir,
            service: service.to_string(),
        }
    }

    pub fn set_text(&self, text: &str) {
        write_atomic(&self.confdir.join(&self.service), text, 0o644);
    }

    /// Runs pam-harness (bounded; default 30 s).
    pub fn run(&self, r: &HarnessRun) -> HarnessOutcome {
        let mut cmd = self.command(r);
        let finished = run_with_timeout(&mut cmd, r.timeout.unwrap_or(Duration::from_secs(30)));
        // Kept for post-mortems with PAM_MFA_KEEP=1.
        let log = format!(
            "{cmd:?}\n--- stdout\n{}--- stderr\n{}",
            finished.stdout, finished.stderr
        );
        let _ = std::fs::write(
            self.confdir
                .join(format!("run-{}.log", crate::random_hex(3))),
            log,
        );
        parse(finished)
    }

    /// The pam-harness command for `r` (for callers that spawn it
    /// themselves, e.g. with other credentials).
    pub fn command(&self, r: &HarnessRun) -> Command {
        let bin = bins::pam_harness();
        bins::require(&bin);
        let mut cmd = match &r.syslog {
            None => Command::new(bin),
            Some((sock, hostdev)) => {
                let mut c = Command::new("unshare");
                c.args(["--mount", "--propagation", "private", "sh", "-c"])
                    .arg(format!(
                        "set -e\n{}\nunset SYSLOG_SOCK HOSTDEV\nexec \"$0\" \"$@\"",
                        crate::syslog::DEV_LOG_SETUP
                    ))
                    .arg(bin)
                    .env("SYSLOG_SOCK", sock)
                    .env("HOSTDEV", hostdev);
                c
            }
        };
        cmd.arg("--confdir").arg(&self.confdir).args([
            "--service",
            &self.service,
            "--user",
            &r.user,
            "--op",
            &r.op,
        ]);
        for (flag, v) in [
            ("--ruser", &r.ruser),
            ("--rhost", &r.rhost),
            ("--tty", &r.tty),
        ] {
            if let Some(v) = v {
                cmd.args([flag, v]);
            }
        }
        for (flag, value) in &r.bytes {
            cmd.arg(flag).arg(OsStr::from_bytes(value));
        }
        for e in &r.env {
            cmd.args(["--env", e]);
        }
        for a in &r.answers {
            cmd.args(["--answer", a]);
        }
        if let Some(t) = &r.give_up_on_info {
            cmd.args(["--give-up-on-info", t]);
        }
        if r.own_pid_namespace {
            let mut outer = Command::new("unshare");
            outer
                .args(["--pid", "--fork", "--kill-child"])
                .arg(cmd.get_program())
                .args(cmd.get_args());
            for (k, v) in cmd.get_envs() {
                match v {
                    Some(v) => outer.env(k, v),
                    None => outer.env_remove(k),
                };
            }
            return outer;
        }
        cmd
    }
}

fn parse(finished: Finished) -> HarnessOutcome {
    let mut results = BTreeMap::new();
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    let mut prompts = Vec::new();
    for line in finished.stdout.lines() {
        if let Some(rest) = line.strip_prefix("RESULT ") {
            for kv in rest.split_whitespace() {
                if let Some((k, v)) = kv.split_once('=') {
                    results.insert(k.to_string(), v.to_string());
                }
            }
        } else if let Some(t) = line.strip_prefix("INFO: ") {
            infos.push(t.to_string());
        } else if let Some(t) = line.strip_prefix("ERROR: ") {
            errors.push(t.to_string());
        } else if line.starts_with("PROMPT(") {
            prompts.push(line.to_string());
        }
    }
    HarnessOutcome {
        finished,
        results,
        infos,
        errors,
        prompts,
    }
}
