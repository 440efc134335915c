//! Helpers for the agent's integration tests: a running mfa-agent on a
//! private socket, and requests to it.

#![allow(dead_code)]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{read_frame, write_frame, Request, RequestBody, Response, ResponseBody};

pub const SEED: &str = include_str!("../../../config/examples/bundle.yaml");

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n: u64 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let p = std::env::temp_dir().join(format!("mfa-agent-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running agent, stopped (SIGTERM, then SIGKILL) on drop.
pub struct RunningAgent {
    pub child: Child,
    pub dir: TempDir,
    pub socket: PathBuf,
    pub policy: PathBuf,
    pub audit: PathBuf,
}

pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mfa-agent")
}

pub fn mfactl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mfactl")
}

impl RunningAgent {
    /// Starts an agent for node `name` with `labels` (YAML flow map) on the
    /// policy text `policy`; `extra` is appended to agent.yaml.
    pub fn start(tag: &str, name: &str, labels: &str, policy: &str, extra: &str) -> RunningAgent {
        let dir = TempDir::new(tag);
        let policy_path = dir.path().join("policy.yaml");
        std::fs::write(&policy_path, policy).unwrap();
        let socket = dir.path().join("agent.sock");
        let audit = dir.path().join("audit.log");
        // The agent's own state (the vanished users, written at every
        // start), not the host's /var/lib/pam-mfa shared by every test.
        let cfg = format!(
            "node:\n  name: {name}\n  labels: {labels}\ncluster:\n  source: file://{}\n  poll_interval: 200ms\n  state_dir: {}\nsocket:\n  path: {}\n  keys_user: nobody\naudit:\n  sink: file:{}\n{extra}",
            policy_path.display(),
            dir.path().join("state").display(),
            socket.display(),
            audit.display()
        );
        std::fs::write(dir.path().join("agent.yaml"), cfg).unwrap();
        let child = Command::new(agent_bin())
            .arg("--config")
            .arg(dir.path().join("agent.yaml"))
            .stderr(std::fs::File::create(dir.path().join("agent.stderr")).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let a = RunningAgent {
            child,
            dir,
            socket,
            policy: policy_path,
            audit,
        };
        // Ready means accepting: the socket file appears at bind(2), a moment
        // before listen(2).
        wait_until(
            Duration::from_secs(10),
            || UnixStream::connect(&a.socket).is_ok(),
            "agent socket",
        );
        a
    }

    pub fn ask(&self, body: RequestBody) -> ResponseBody {
        ask(&self.socket, body)
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn signal(&self, sig: i32) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn ask(socket: &Path, body: RequestBody) -> ResponseBody {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write_frame(&mut s, &Request::new(body)).unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    r.body
}

pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
