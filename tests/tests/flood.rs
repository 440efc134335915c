//! One local user tries to take logins away from everyone (issue 11 item 1):
//! 300 sudo prompts left open (pam-harness processes with the user's real
//! uid and euid 0, as sudo runs) and 5,000 plain connections that send
//! nothing. Meanwhile another user's SSH-class login still gets its answer
//! in under a second, and with `fail_mode=open` the flooder's own logins
//! still fail instead of stepping aside.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mfa_agent::ipc::{invoking_person, Person, PER_PERSON_PENDING};
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

const SUDO_PROMPTS: usize = 300;
const RAW_CONNECTIONS: usize = 5000;

/// Children killed (by their own pid) when the test ends, however it ends.
#[derive(Default)]
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `cmd` with real uid `uid` and effective uid 0: what sudo and su look
/// like to the agent while they authenticate.
fn as_sudo_of(cmd: &mut Command, uid: u32) {
    // SAFETY: setresuid is async-signal-safe and touches no Rust state.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setresuid(uid, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn one_user_flooding_the_agent_takes_no_login_away_from_others() {
    require_root!();
    let work = WorkDir::new("flood");
    let jerry = TestUser::create();
    let tom = TestUser::create();
    let key = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let sudo_service = unique_name("sudo-mfat");
    let ssh_service = unique_name("sshd-mfat");
    let open_service = unique_name("sudo-open-mfat");
    let b = bundle(&jerry.name, "false", "true", &[&key])
        .role(
            "prod-open",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            None,
        )
        .user(&tom.name, &["prod-open"], &[&tom.name]);
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod")
            .service(&sudo_service, "admin")
            .service(&open_service, "admin")
            .service(&ssh_service, "ssh"),
        &b,
    );
    let module = bins::pam_module();
    let sudo = PamStack::new(
        &work,
        &sudo_service,
        &format!(
            "auth required {} {}\n",
            module.display(),
            module_args(&agent.socket, "")
        ),
    );
    let fail_open = PamStack::new(
        &work,
        &open_service,
        &format!(
            "auth required {m} {a}\nauth required pam_permit.so\n",
            m = module.display(),
            a = module_args(&agent.socket, "fail_mode=open")
        ),
    );
    let ssh = PamStack::new(
        &work,
        &ssh_service,
        &format!(
            "auth required {} {}\n",
            module.display(),
            module_args(&agent.socket, "")
        ),
    );
    let tom_login = {
        let mut r = HarnessRun::new(&tom.name, "auth");
        r.tty = Some("tty4".into());
        r
    };
    let baseline = ssh.run(&tom_login);
    assert_eq!(
        baseline.result("auth"),
        "PAM_SUCCESS",
        "{}\n{}",
        baseline.describe(),
        agent.log()
    );

    // 300 sudo prompts of jerry, each left open.
    let mut children = Children::default();
    let outputs: Vec<PathBuf> = (0..SUDO_PROMPTS)
        .map(|i| work.path().join(format!("sudo-{i}.out")))
        .collect();
    let mut jerry_sudo = HarnessRun::new(&jerry.name, "auth");
    jerry_sudo.ruser = Some(jerry.name.clone());
    jerry_sudo.tty = Some("/dev/pts/9".into());
    for out in &outputs {
        let mut cmd = sudo.command(&jerry_sudo);
        // Inside an SSH session: the challenge prompt, which waits on jerry.
        cmd.args(["--hold-on-prompt", "120"])
            .env("SSH_CONNECTION", "127.0.0.1 50000 127.0.0.1 22")
            .stdin(Stdio::null())
            .stdout(File::create(out).unwrap())
            .stderr(Stdio::null());
        as_sudo_of(&mut cmd, jerry.uid);
        children.0.push(cmd.spawn().expect("spawn pam-harness"));
    }
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let holding = |outs: &[PathBuf]| {
        outs.iter()
            .filter(|p| read(p).contains("CONV: holding the prompt"))
            .count()
    };
    wait_for(
        Duration::from_secs(45),
        "the sudo prompts to settle",
        || {
            outputs
                .iter()
                .all(|p| read(p).contains("RESULT ") || read(p).contains("CONV: holding"))
        },
    );
    let held = holding(&outputs);
    assert_eq!(held, PER_PERSON_PENDING, "{}", agent.log());
    for p in &outputs {
        let text = read(p);
        if text.contains("RESULT ") {
            assert!(text.contains("auth=PAM_AUTH_ERR"), "{text}");
        }
    }

    // 5,000 plain connections of jerry, sending nothing.
    let mut flood = Command::new(env!("CARGO_BIN_EXE_conn-flood"));
    flood
        .arg(&agent.socket)
        .arg(RAW_CONNECTIONS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    as_user(&mut flood, jerry.uid, jerry.gid, Some(8192));
    let mut flooder = flood.spawn().expect("spawn conn-flood");
    let mut lines = BufReader::new(flooder.stdout.take().unwrap()).lines();
    children.0.push(flooder);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(lines.next());
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("conn-flood made its connections: the agent kept accepting");
    assert_eq!(
        first.and_then(Result::ok).as_deref(),
        Some(format!("HELD {RAW_CONNECTIONS}").as_str())
    );

    // tom still gets his answer, quickly.
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let start = Instant::now();
        let out = ssh.run(&tom_login);
        slowest = slowest.max(start.elapsed());
        assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
    }
    eprintln!("tom's slowest login during the flood: {slowest:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "took {slowest:?}\n{}",
        agent.log()
    );

    // tom's own sudo (another person behind a root peer) has its own budget.
    let mut tom_sudo = HarnessRun::new(&tom.name, "auth");
    tom_sudo.ruser = Some(tom.name.clone());
    let mut cmd = sudo.command(&tom_sudo);
    cmd.stdin(Stdio::null()).stderr(Stdio::null());
    as_sudo_of(&mut cmd, tom.uid);
    let out = cmd.output().expect("tom's sudo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RESULT auth=PAM_SUCCESS"), "{text}");

    // jerry's own login, in a stack that is open when the agent is absent:
    // refused, never stepped aside.
    let out = fail_open.run(&jerry_sudo);
    assert_eq!(out.result("auth"), "PAM_AUTH_ERR", "{}", out.describe());
    let said = format!("{:?}{:?}", out.errors, out.infos);
    assert!(said.contains("too many pending logins for"), "{said}");
    assert_eq!(holding(&outputs), PER_PERSON_PENDING);
    assert!(
        agent.log().contains("refused a connection"),
        "{}",
        agent.log()
    );
    drop(children);
    drop(tom);
    drop(jerry);
}

/// Who a root peer counts against, from the kernel's view of its process:
/// a sudo-like process (real uid 4242, euid 0) is uid 4242's, and so is a
/// fully root process it started (traced through its ancestors).
#[test]
fn a_root_peer_counts_against_the_person_behind_it() {
    require_root!();
    let mut children = Children::default();
    // Not through sh: dash drops privileges when its real and effective
    // uids differ.
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.args([
        "-c",
        "import os\npid = os.fork()\nif pid == 0:\n    os.setresuid(0, 0, 0)\n    os.execvp('sleep', ['sleep', '30'])\nprint(pid, flush=True)\nos.waitpid(pid, 0)\n",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    as_sudo_of(&mut cmd, 4242);
    let mut sudo_like = cmd.spawn().expect("spawn python3");
    let mut line = String::new();
    BufReader::new(sudo_like.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let sudo_pid = sudo_like.id() as i32;
    children.0.push(sudo_like);
    let root_child: i32 = line.trim().parse().expect("the child's pid");
    // Until python has made itself root, it is still 4242's by its real uid.
    let start = Instant::now();
    while std::fs::read_to_string(format!("/proc/{root_child}/comm")).unwrap_or_default()
        != "sleep\n"
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the child never became sleep"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(invoking_person(0, sudo_pid), Person::Uid(4242));
    assert_eq!(invoking_person(0, root_child), Person::Uid(4242));
    // A root peer with no one behind it (pid 1) is the system's.
    assert_eq!(invoking_person(0, 1), Person::System);
    // SAFETY: kill by PID of a process this test started.
    unsafe { libc::kill(root_child, libc::SIGKILL) };
}

/// A connection that sends nothing is closed after the agent's short
/// first-frame deadline (5 s), well before the 30 s allowed between the
/// requests of a connection that has spoken.
#[test]
fn a_connection_that_sends_nothing_is_closed_soon() {
    use std::io::Read;
    require_root!();
    let work = WorkDir::new("flood-silent");
    let user = TestUser::create();
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("dev"),
        &bundle(&user.name, "false", "false", &[]),
    );
    let mut silent = std::os::unix::net::UnixStream::connect(&agent.socket).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let n = silent.read(&mut buf).expect("closed, not timed out");
    let took = start.elapsed();
    assert_eq!(n, 0, "the agent sent something instead of closing");
    assert!(took < Duration::from_secs(15), "{took:?}");
    eprintln!("a silent connection was closed after {took:?}");
}
