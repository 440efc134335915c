//! A real OpenSSH `ssh-agent` for a test, holding sk-dummy keys, stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::bins::SK_DUMMY;
use crate::keys::SshKey;
use crate::process::{kill_tree, run_checked, wait_until};

pub struct TestSshAgent {
    child: Child,
    pub socket: PathBuf,
}

impl TestSshAgent {
    /// Starts `ssh-agent -D -a DIR/agent.sock`, as `run_as` (a user name) when
    /// given, so the socket belongs to that user.
    pub fn start(dir: &Path, run_as: Option<&str>) -> TestSshAgent {
        let socket = dir.join(format!("{}.agent.sock", crate::unique_name("a")));
        let mut cmd = match run_as {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    user,
                    "--regid",
                    user,
                    "--init-groups",
                    "ssh-agent",
                ]);
                c
            }
            None => Command::new("ssh-agent"),
        };
        let child = cmd
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .env("SSH_SK_PROVIDER", SK_DUMMY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting ssh-agent");
        let agent = TestSshAgent { child, socket };
        assert!(
            wait_until(Duration::from_secs(10), Duration::from_millis(20), || agent
                .socket
                .exists()),
            "ssh-agent did not create {}",
            agent.socket.display()
        );
        agent
    }

    /// `ssh-add KEY` (sk keys through sk-dummy), as `run_as` when given.
    pub fn add(&self, key: &SshKey, run_as: Option<&str>) {
        let mut cmd = match run_as {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", user, "--regid", user, "--init-groups", "ssh-add"]);
                c
            }
            None => Command::new("ssh-add"),
        };
        cmd.arg(&key.private)
            .env("SSH_AUTH_SOCK", &self.socket)
            .env("SSH_SK_PROVIDER", SK_DUMMY)
            .stdin(Stdio::null());
        run_checked(&mut cmd);
    }
}

impl Drop for TestSshAgent {
    fn drop(&mut self) {
        kill_tree(self.child.id() as i32, Duration::from_millis(500));
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}
