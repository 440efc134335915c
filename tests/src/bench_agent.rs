//! What the benchmark and soak programs (`pam-mfa-bench`, `pam-mfa-soak`)
//! share: their `--flag value` command lines, and an `mfa-agent` of theirs
//! in a private directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `--flag value` pairs of this program's command line, in order; a
/// flag without a value panics with "FLAG needs a value".
pub fn flag_values() -> impl Iterator<Item = (String, String)> {
    let mut it = std::env::args().skip(1);
    std::iter::from_fn(move || {
        let k = it.next()?;
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        Some((k, v))
    })
}

/// `mfa-agent` started on `DIR/agent.yaml`, its socket `DIR/agent.sock`;
/// killed, and DIR removed, when dropped.
pub struct BenchAgent {
    pub child: Child,
    pub dir: PathBuf,
}

impl BenchAgent {
    /// Writes `agent_yaml` to `dir/agent.yaml` (`dir` exists), starts
    /// `bin_dir/mfa-agent` on it (stderr discarded) and waits up to 10 s for
    /// its socket.
    pub fn start(bin_dir: &Path, dir: PathBuf, agent_yaml: &str) -> BenchAgent {
        std::fs::write(dir.join("agent.yaml"), agent_yaml).unwrap();
        let child = Command::new(bin_dir.join("mfa-agent"))
            .arg("--config")
            .arg(dir.join("agent.yaml"))
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mfa-agent");
        let agent = BenchAgent { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !agent.socket().exists() {
            assert!(
                Instant::now() < deadline,
                "mfa-agent did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        agent
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("agent.sock")
    }
}

impl Drop for BenchAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
