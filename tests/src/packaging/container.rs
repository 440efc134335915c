//! A Debian root booted with `systemd-nspawn -b` (its own PID 1 systemd, a
//! private network with only loopback), and commands run inside it through
//! `nsenter` into the container's namespaces (`--register=no` leaves no
//! machined handle, so `machinectl`/`systemd-run -M` cannot reach it).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{
    descendants, in_new_session, kill_tree, pid_alive, run_with_timeout, wait_until, Finished,
};

/// PATH inside the container.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A booted container. Drop powers it off (bounded), kills what is left by
/// PID, and removes nspawn's lock and propagation entries for it.
pub struct Container {
    nspawn: Child,
    /// The container's PID 1 (systemd), as the host sees it.
    pub leader: i32,
    pub root: PathBuf,
    pub machine: String,
    console: PathBuf,
    root_lock: Option<PathBuf>,
}

impl Container {
    /// Boots `root` (`systemd-nspawn -q -D ROOT --private-network
    /// --register=no --keep-unit -b`) and waits (90 s at most) until its
    /// systemd says the boot is done (`running` or `degraded`).
    pub fn boot(root: &Path, console: &Path) -> Container {
        let machine = crate::unique_name("pmfa");
        let log = std::fs::File::create(console).expect("console log");
        let err = log.try_clone().expect("console log");
        let mut cmd = Command::new("systemd-nspawn");
        cmd.args(["-q", "-D"])
            .arg(root)
            .args(["--private-network", "--register=no", "--keep-unit", "-b"])
            .arg(format!("--machine={machine}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        in_new_session(&mut cmd);
        let nspawn = cmd.spawn().expect("start systemd-nspawn");
        let nspawn_pid = nspawn.id() as i32;
        let root_lock = std::fs::metadata(root).ok().map(|m| {
            PathBuf::from(format!(
                "/run/systemd/nspawn/locks/inode-{}:{}",
                m.dev(),
                m.ino()
            ))
        });
        let mut c = Container {
            nspawn,
            leader: 0,
            root: root.to_path_buf(),
            machine,
            console: console.to_path_buf(),
            root_lock,
        };
        // The leader is nspawn's child that runs systemd as PID 1 of its own
        // PID namespace.
        let found = wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
            c.leader = descendants(nspawn_pid)
                .into_iter()
                .find(|&p| is_pid_one_of_its_namespace(p))
                .unwrap_or(0);
            c.leader != 0
        });
        assert!(
            found,
            "systemd-nspawn started no container init:\n{}",
            c.console_text()
        );
        // Early on systemctl cannot reach PID 1 yet ("offline"): ask again.
        let mut boot = c.run(&["systemctl", "is-system-running", "--wait"], 90);
        wait_until(Duration::from_secs(90), Duration::from_millis(200), || {
            boot = c.run(&["systemctl", "is-system-running", "--wait"], 90);
            matches!(boot.stdout.trim(), "running" | "degraded")
        });
        let state = boot.stdout.trim();
        assert!(
            state == "running" || state == "degraded",
            "the container did not finish booting ({state:?}):\n{}\n--- failed units\n{}\n--- console\n{}",
            boot.stderr,
            c.run(&["systemctl", "--failed", "--no-pager"], 20).stdout,
            c.console_text()
        );
        c
    }

    /// A command in every namespace of the container (mount, PID, network,
    /// UTS, IPC, cgroup), with its root and a clean environment; killed past
    /// `timeout_secs`.
    pub fn run(&self, argv: &[&str], timeout_secs: u64) -> Finished {
        let mut cmd = self.command(argv);
        run_with_timeout(&mut cmd, Duration::from_secs(timeout_secs))
    }

    /// `sh -c SCRIPT` inside; panics with the output unless it exits 0.
    pub fn sh(&self, script: &str) -> String {
        let f = self.run(&["sh", "-euc", script], 120);
        assert!(
            f.success(),
            "in the container, `{script}` failed ({:?}, timed out {}):\n--- stdout\n{}\n--- stderr\n{}",
            f.code,
            f.timed_out,
            f.stdout,
            f.stderr
        );
        f.stdout
    }

    /// The nsenter command for `argv` (not started).
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.leader.to_string())
            .args(["-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--"])
            .args(["env", "-i", &format!("PATH={PATH}"), "LANG=C.UTF-8"])
            .arg("DEBIAN_FRONTEND=noninteractive")
            .args(argv);
        cmd
    }

    /// A host directory holding an `ssh` that runs the host's OpenSSH client
    /// in the container's network namespace only (host files, host sk-dummy),
    /// for `PATH=<dir>:...` in front of [`crate::ssh::SshLogin`].
    pub fn ssh_shim_dir(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).expect("mkdir shim dir");
        let shim = dir.join("ssh");
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\nexec nsenter -t {} -n -- /usr/bin/ssh \"$@\"\n",
                self.leader
            ),
        )
        .expect("write ssh shim");
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod ssh shim");
        dir.to_path_buf()
    }

    pub fn console_text(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }

    /// The journal of one unit inside, for failure messages.
    pub fn journal(&self, unit: &str) -> String {
        self.run(
            &[
                "journalctl",
                "-u",
                unit,
                "--no-pager",
                "-n",
                "60",
                "-o",
                "cat",
            ],
            20,
        )
        .stdout
    }
}

/// `NSpid:` in /proc/PID/status ends in 1: the init of a nested PID namespace.
fn is_pid_one_of_its_namespace(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("NSpid:")).map(|l| {
                let ids: Vec<&str> = l.split_whitespace().skip(1).collect();
                ids.len() > 1 && ids.last() == Some(&"1")
            })
        })
        .unwrap_or(false)
}

impl Drop for Container {
    fn drop(&mut self) {
        let pid = self.nspawn.id() as i32;
        if self.leader != 0 && pid_alive(self.leader) {
            // An orderly poweroff first (SIGRTMIN+4 to systemd), then force.
            // SAFETY: signal to the container's init, a process this test started.
            unsafe { libc::kill(self.leader, libc::SIGRTMIN() + 4) };
            wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
                !pid_alive(pid)
            });
        }
        if pid_alive(pid) {
            kill_tree(pid, Duration::from_secs(5));
        }
        let _ = self.nspawn.wait();
        let _ =
            std::fs::remove_dir_all(Path::new("/run/systemd/nspawn/propagate").join(&self.machine));
        if let Some(lock) = &self.root_lock {
            let _ = std::fs::remove_file(lock);
        }
        for d in [
            "/run/systemd/nspawn/propagate",
            "/run/systemd/nspawn/locks",
            "/run/systemd/nspawn",
        ] {
            let _ = std::fs::remove_dir(d);
        }
    }
}
