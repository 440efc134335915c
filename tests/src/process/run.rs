use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a bounded child ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The deadline passed and the process group was killed.
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }
}

/// Makes `cmd` start in a new session (setsid: its own process group, no
/// controlling terminal), so the whole group can be stopped together.
pub fn in_new_session(cmd: &mut Command) -> &mut Command {
    // SAFETY: setsid is async-signal-safe and touches no Rust state in the child.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Runs `cmd` in a new session (its own process group, no controlling terminal)
/// with stdin from /dev/null, collecting stdout and stderr. Past `timeout` the
/// whole process group is killed.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Finished {
    in_new_session(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let pid = child.id() as i32;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            // SAFETY: kill on our own child's process group (it is a session leader).
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    // Anything left in the group (a grandchild holding the pipes) goes too.
    // SAFETY: as above; ESRCH when the group is already gone is fine.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let stdout = out
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    let stderr = err
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    Finished {
        code: status.code(),
        signal: status.signal(),
        stdout,
        stderr,
        timed_out,
        elapsed,
    }
}

fn reader(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs a short helper command (30 s bound) and panics with its output unless it
/// succeeds. Returns stdout.
pub fn run_checked(cmd: &mut Command) -> String {
    let what = format!("{cmd:?}");
    let f = run_with_timeout(cmd, Duration::from_secs(30));
    assert!(
        f.success(),
        "{what} failed ({:?}, signal {:?}, timed out {}):\nstdout: {}\nstderr: {}",
        f.code,
        f.signal,
        f.timed_out,
        f.stdout,
        f.stderr
    );
    f.stdout
}
