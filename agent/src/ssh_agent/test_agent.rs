//! A real `ssh-agent` for tests (this module's, and the login flow's
//! forwarded-agent tests), holding sk keys from OpenSSH's sk-dummy.so.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::verify::ssh_sk::testkit::{run, TestKey, SK_DUMMY};

/// An `ssh-agent -D` child, killed (by its PID) and reaped on drop.
pub(crate) struct RunningAgent {
    child: Child,
    pub(crate) socket: PathBuf,
}

impl RunningAgent {
    pub(crate) fn start(socket: PathBuf, as_nobody: bool) -> Self {
        let mut cmd = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "ssh-agent",
            ]);
            c
        } else {
            Command::new("ssh-agent")
        };
        let child = cmd
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let mut agent = Self { child, socket };
        agent.wait_for_socket();
        agent
    }

    /// Until ssh-agent accepts connections: the socket file appears at
    /// bind(2), before listen(2), and a connection in between is refused
    /// (a loaded machine made that window long enough to fail tests).
    fn wait_for_socket(&mut self) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ssh-agent exited early: {status}");
            }
            assert!(Instant::now() < give_up, "ssh-agent made no socket");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the agent now (its socket file stays, refusing connections).
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn add(&self, key: &TestKey) {
        run(
            Command::new("ssh-add")
                .arg(&key.private)
                .env("SSH_AUTH_SOCK", &self.socket)
                .env("SSH_SK_PROVIDER", SK_DUMMY),
            "ssh-add",
        );
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
