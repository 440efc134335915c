use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{AgentConfig, Bundle};
use crate::bins;
use crate::process::{kill_tree, run_with_timeout, wait_until, Finished};
use crate::workdir::{write_atomic, WorkDir};

/// How long the agent may take to create its socket.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A running `mfa-agent --config FILE`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Agent {
    child: Option<Child>,
    pub config_path: PathBuf,
    pub bundle_path: PathBuf,
    pub socket: PathBuf,
    pub audit_path: PathBuf,
    pub log_path: PathBuf,
    /// A command the agent runs under (e.g. `nsenter --target=PID --mount --`
    /// to reach a private pcscd); empty: none.
    wrapper: Vec<String>,
}

impl Agent {
    /// Writes agent.yaml and the bundle into `dir` and starts the agent; waits
    /// (bounded) until its socket accepts connections.
    pub fn start(dir: &WorkDir, config: &AgentConfig, bundle: &Bundle) -> Agent {
        Agent::start_wrapped(dir, config, bundle, Vec::new())
    }

    /// [`Agent::start`], the agent running under `wrapper` (a command and
    /// its arguments, the agent's command line appended).
    pub fn start_wrapped(
        dir: &WorkDir,
        config: &AgentConfig,
        bundle: &Bundle,
        wrapper: Vec<String>,
    ) -> Agent {
        Agent::launch(dir, config, bundle, wrapper, None)
    }

    /// [`Agent::start`] listening on `socket` (say, a path of a chosen
    /// length) instead of one in `dir`.
    pub fn start_on(
        dir: &WorkDir,
        config: &AgentConfig,
        bundle: &Bundle,
        socket: PathBuf,
    ) -> Agent {
        Agent::launch(dir, config, bundle, Vec::new(), Some(socket))
    }

    fn launch(
        dir: &WorkDir,
        config: &AgentConfig,
        bundle: &Bundle,
        wrapper: Vec<String>,
        socket: Option<PathBuf>,
    ) -> Agent {
        let name = crate::unique_name("agent-");
        let bundle_path = dir.join(&format!("{name}-bundle.yaml"));
        let socket = socket.unwrap_or_else(|| dir.join(&format!("{name}.sock")));
        let audit_path = dir.join(&format!("{name}-audit.log"));
        let log_path = dir.join(&format!("{name}.log"));
        let config_path = dir.join(&format!("{name}.yaml"));
        write_atomic(&bundle_path, &bundle.to_yaml(), 0o644);
        write_atomic(
            &config_path,
            &config.render(&bundle_path, &socket, &audit_path),
            0o600,
        );
        let mut agent = Agent {
            child: None,
            config_path,
            bundle_path,
            socket,
            audit_path,
            log_path,
            wrapper,
        };
        agent.spawn();
        agent
    }

    /// Starts the agent process again (after [`Agent::stop`]).
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "agent already running");
        let bin = bins::mfa_agent();
        bins::require(&bin);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("agent log");
        let mut cmd = match self.wrapper.split_first() {
            Some((program, args)) => {
                // Absolute: a wrapper such as nsenter may change directory.
                let bin = std::fs::canonicalize(&bin).unwrap_or(bin.clone());
                let mut c = Command::new(program);
                c.args(args).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let child = cmd
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        self.child = Some(child);
        let socket = self.socket.clone();
        let mut exited = None;
        let up = wait_until(START_DEADLINE, Duration::from_millis(25), || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    exited = Some(st);
                    return true;
                }
            }
            is_socket(&socket) && UnixStream::connect(&socket).is_ok()
        });
        if let Some(st) = exited {
            self.child = None;
            panic!("mfa-agent exited at start ({st}); its log:\n{}", self.log());
        }
        if !up {
            self.stop();
            panic!(
                "mfa-agent did not open {} within {START_DEADLINE:?}; its log:\n{}",
                socket.display(),
                self.log()
            );
        }
    }

    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// SIGTERM, up to 5 s grace, then SIGKILL; reaps the process.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_tree(c.id() as i32, Duration::from_secs(5));
            let _ = c.wait();
        }
    }

    /// The agent's stdout/stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Replaces the bundle (atomically) and asks the agent to reload it; falls
    /// back to waiting for the file poll when `mfactl reload` fails.
    pub fn update_bundle(&self, bundle: &Bundle) {
        write_atomic(&self.bundle_path, &bundle.to_yaml(), 0o644);
        let f = self.mfactl(&["reload"]);
        if !f.success() {
            eprintln!(
                "mfactl reload failed ({:?}): {}{}; waiting for the poll",
                f.code, f.stdout, f.stderr
            );
            std::thread::sleep(Duration::from_millis(2500));
        }
    }

    /// Runs `mfactl --socket <sock> ARGS...` (bounded).
    pub fn mfactl(&self, args: &[&str]) -> Finished {
        let bin = bins::mfactl();
        bins::require(&bin);
        run_with_timeout(
            Command::new(bin)
                .arg("--socket")
                .arg(&self.socket)
                .args(args),
            Duration::from_secs(20),
        )
    }

    /// Every audit event so far (one JSON object per line; bad lines are kept as
    /// strings so a test can show them).
    pub fn audit_events(&self) -> Vec<Value> {
        read_audit(&self.audit_path)
    }

    /// Waits (bounded) for an audit event satisfying `pred`.
    pub fn wait_audit(&self, deadline: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let mut found = None;
        wait_until(deadline, Duration::from_millis(50), || {
            found = self.audit_events().into_iter().find(|e| pred(e));
            found.is_some()
        });
        found
    }

    /// The raw audit log text.
    pub fn audit_text(&self) -> String {
        std::fs::read_to_string(&self.audit_path).unwrap_or_default()
    }

    /// The audit log and the agent's own log under headings, for a failed
    /// assertion's message.
    pub fn evidence(&self) -> String {
        format!(
            "--- audit\n{}\n--- agent log\n{}",
            self.audit_text(),
            self.log()
        )
    }
}

/// Parses a JSON-lines audit file.
pub fn read_audit(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.to_string())))
        .collect()
}

fn is_socket(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false)
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop();
    }
}
