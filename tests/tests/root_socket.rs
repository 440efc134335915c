//! The agent's second socket, `<socket.path>.root`, that only root may
//! connect to: pam_mfa.so running as root (sshd, sudo, su, login) connects
//! there first, so that an unprivileged user who keeps the public socket's
//! listen queue full (processes blocked in `connect` refill it as fast as
//! the agent drains it) cannot keep root's logins waiting.
//!
//! Made deterministic by stopping the agent (SIGSTOP): nothing drains the
//! public queue while an unprivileged process fills it until `connect`
//! says EAGAIN, and a root login's connection is seen queued on the root
//! socket (`ss`), where the public queue would have kept it out, before
//! the agent goes on and answers it.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use pam_mfa_protocol::root_socket_path;

/// Stops the agent for the guard's life; SIGCONT on drop.
struct Frozen(i32);

impl Frozen {
    /// Returns once every thread of `pid` is stopped: kill(2) returns when
    /// the signal is sent, and a thread that has not stopped yet could
    /// still accept a connection.
    fn new(pid: i32) -> Frozen {
        // SAFETY: kill(2) on the agent's own pid, started by this test.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        let frozen = Frozen(pid);
        wait_for(Duration::from_secs(20), "the agent to stop", || {
            all_threads_stopped(pid)
        });
        frozen
    }
}

/// Whether every thread of `pid` is in state T (stopped), as
/// /proc/PID/task/TID/stat says.
fn all_threads_stopped(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            // The state follows the command name's closing parenthesis.
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
        })
    })
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// Connections waiting in the queue of the listener at `path`, as `ss`
/// shows it (Recv-Q of a listening socket).
fn queued(path: &Path) -> Option<u64> {
    let out = Command::new("ss").args(["-xlH"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let want = path.to_str()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(4) == Some(&want)).then(|| f.get(2)?.parse().ok())?
    })
}

/// A PAM service `service` whose only line is pam_mfa.so's `auth`,
/// asking the agent at `socket`.
fn auth_stack(work: &WorkDir, service: &str, socket: &Path) -> PamStack {
    let module = bins::pam_module();
    PamStack::new(
        work,
        service,
        &format!(
            "auth required {} {}\n",
            module.display(),
            module_args(socket, "")
        ),
    )
}

/// `login`'s `auth` at a console (tty4), run as root.
fn console_auth(login: &str) -> HarnessRun {
    let mut run = HarnessRun::new(login, "auth");
    run.tty = Some("tty4".into());
    run
}

#[test]
fn a_root_login_gets_through_while_a_user_holds_the_public_queue_full() {
    require_root!();
    let work = WorkDir::new("root-socket");
    let jerry = TestUser::create();
    let tom = TestUser::create();
    let service = unique_name("sshd-mfat");
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("dev").service(&service, "ssh"),
        &bundle(&tom.name, "false", "false", &[]),
    );
    let root_socket = root_socket_path(&agent.socket);
    let meta = std::fs::symlink_metadata(&root_socket).expect("the root socket is there");
    assert!(meta.file_type().is_socket());
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o600));
    let ssh = auth_stack(&work, &service, &agent.socket);
    let tom_login = console_auth(&tom.name);
    let baseline = ssh.run(&tom_login);
    assert_eq!(
        baseline.result("auth"),
        "PAM_SUCCESS",
        "{}",
        baseline.describe()
    );

    let frozen = Frozen::new(agent.pid().expect("agent pid"));
    let mut fill = Command::new(env!("CARGO_BIN_EXE_backlog-fill"));
    fill.arg(&agent.socket)
        .arg(&root_socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    as_user(&mut fill, jerry.uid, jerry.gid, Some(8192));
    let mut filler = fill.spawn().expect("spawn backlog-fill");
    let mut lines = BufReader::new(filler.stdout.take().unwrap()).lines();
    let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
    // An unprivileged user cannot connect to the root socket at all.
    assert_eq!(next(), "ROOT EACCES");
    // Filled until connect said EAGAIN: the queue is full, and stays so
    // while the agent is stopped.
    let full = next();
    let held: u64 = full
        .strip_prefix("FULL ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{full}"));
    assert_eq!(queued(&agent.socket), Some(held));
    assert_eq!(queued(&root_socket), Some(0));

    // tom's login, run as root as sshd runs the module: its connection
    // waits in the root socket's queue, not behind jerry's.
    let out_path = work.path().join("tom.out");
    let mut login = ssh.command(&tom_login);
    login
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::null());
    let mut login = login.spawn().expect("spawn pam-harness");
    wait_for(
        Duration::from_secs(20),
        "tom's login to connect to the root socket while the public queue is full",
        || queued(&root_socket) == Some(1),
    );
    drop(frozen);
    let read = || std::fs::read_to_string(&out_path).unwrap_or_default();
    wait_for(Duration::from_secs(30), "tom's login to end", || {
        read().contains("RESULT ")
    });
    let _ = login.wait();
    assert!(read().contains("RESULT auth=PAM_SUCCESS"), "{}", read());
    drop(filler.stdin.take());
    let _ = filler.kill();
    let _ = filler.wait();
    assert!(
        agent.log().contains("(root only)"),
        "the agent says it listens there: {}",
        agent.log()
    );
}

#[test]
fn both_sockets_are_removed_when_the_agent_stops() {
    require_root!();
    let work = WorkDir::new("root-socket-stop");
    let tom = TestUser::create();
    let mut agent = Agent::start(
        &work,
        &AgentConfig::with_env("dev"),
        &bundle(&tom.name, "false", "false", &[]),
    );
    let root_socket = root_socket_path(&agent.socket);
    for path in [&agent.socket, &root_socket] {
        assert!(
            std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()),
            "{} while the agent runs",
            path.display()
        );
    }
    agent.stop();
    for path in [&agent.socket, &root_socket] {
        assert!(
            std::fs::symlink_metadata(path).is_err(),
            "{} is left after SIGTERM; the agent's log:\n{}",
            path.display(),
            agent.log()
        );
    }
}

/// A public socket path of 105 bytes fits a socket address (107 at most),
/// `<path>.root` does not: the agent says so and serves only the public
/// socket, and a root login (the module first tries the root socket)
/// still gets its decision there.
#[test]
fn a_socket_path_with_no_room_for_the_root_socket_serves_root_logins_on_the_public_one() {
    require_root!();
    let work = WorkDir::new("root-socket-long");
    let tom = TestUser::create();
    let service = unique_name("sshd-mfat");
    let base = work.path().as_os_str().len() + "/".len() + "/agent.sock".len();
    let pad = "d".repeat(105 - base);
    let dir = work.join(&pad);
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let socket = dir.join("agent.sock");
    assert_eq!(socket.as_os_str().len(), 105);
    let agent = Agent::start_on(
        &work,
        &AgentConfig::with_env("dev").service(&service, "ssh"),
        &bundle(&tom.name, "false", "false", &[]),
        socket.clone(),
    );
    let root_socket = root_socket_path(&socket);
    assert!(std::fs::symlink_metadata(&root_socket).is_err());
    assert!(
        agent.log().contains("too long for a socket"),
        "the agent says why it has no root socket: {}",
        agent.log()
    );
    let out = auth_stack(&work, &service, &socket).run(&console_auth(&tom.name));
    assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
}
