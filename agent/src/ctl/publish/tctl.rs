//! `--tctl`: running `tctl get
//! role,cap,user,lock,cert_authority,cluster_networking_config
//! --with-secrets --format=yaml` here, within a deadline.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::input::{text_of, Source, MAX_INPUT_BYTES};

/// How tctl is run.
#[derive(Debug, Clone)]
pub struct TctlOptions {
    /// The program (`tctl`, found on PATH).
    pub program: PathBuf,
    /// `-i FILE`: an identity file (`tctl auth sign --format=file`).
    pub identity: Option<PathBuf>,
    /// `--auth-server ADDR`.
    pub auth_server: Option<String>,
    /// Killed (its whole process group) when it has not finished by then.
    pub timeout: Duration,
}

/// The resources read, as `tctl get` names them: every kind the agent
/// reads. `cluster_networking_config` carries the cluster-wide
/// `client_idle_timeout`, which Teleport applies to every SSH session
/// through `AccessChecker.AdjustClientIdleTimeout(netConfig.
/// GetClientIdleTimeout())` (the SSH access decision's `evaluateSSHAccess`,
/// lib/srv ctx.go's `clientIdleTimeout`); without it the agents would take
/// none and leave open the idle sessions Teleport ends.
pub const TCTL_RESOURCES: &str = "role,cap,user,lock,cert_authority,cluster_networking_config";

/// tctl's arguments.
pub(crate) fn tctl_args(o: &TctlOptions) -> Vec<String> {
    let mut args: Vec<String> = ["get", TCTL_RESOURCES, "--with-secrets", "--format=yaml"]
        .map(String::from)
        .to_vec();
    if let Some(id) = &o.identity {
        args.push("-i".into());
        args.push(id.display().to_string());
    }
    if let Some(addr) = &o.auth_server {
        args.push("--auth-server".into());
        args.push(addr.clone());
    }
    args
}

/// Runs tctl and returns what it printed, or why not (its exit status and
/// the end of its standard error; never its output, which holds secrets).
pub(crate) fn run_tctl(o: &TctlOptions) -> Result<Source, String> {
    use std::os::unix::process::CommandExt as _;
    let args = tctl_args(o);
    let shown = format!("{} {}", o.program.display(), args.join(" "));
    let deadline = Instant::now() + o.timeout;
    let mut child = Command::new(&o.program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    let out = read_all(child.stdout.take().expect("piped"), MAX_INPUT_BYTES + 1);
    let err = read_all(child.stderr.take().expect("piped"), 64 << 10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Not reaped yet: the group is still tctl's.
                kill_group(child.id());
                let _ = child.wait();
                return Err(format!("{shown}: no answer within {:?}: killed", o.timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{shown}: {e}")),
        }
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let pgid = child.id();
    let out = collect(&out, left, pgid).map_err(|e| format!("{shown}: {e}"))?;
    let err = collect(&err, Duration::from_secs(1), pgid).unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(format!("{shown}: {status}: {}", tail(err.trim(), 2000)));
    }
    text_of(shown, out)
}

type Reader = std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>;

/// Reads `pipe` to its end (at most `limit` bytes) on a thread.
fn read_all(pipe: impl Read + Send + 'static, limit: u64) -> Reader {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let r = pipe.take(limit).read_to_end(&mut bytes).map(|_| bytes);
        let _ = tx.send(r);
    });
    rx
}

/// What a reader got, waiting at most `wait`. A pipe still open then is
/// held by something tctl left running in its process group (which
/// therefore still exists): the group is killed, and the pipe ends.
fn collect(reader: &Reader, wait: Duration, pgid: u32) -> std::io::Result<Vec<u8>> {
    use std::sync::mpsc::RecvTimeoutError;
    let got = match reader.recv_timeout(wait) {
        Err(RecvTimeoutError::Timeout) => {
            kill_group(pgid);
            reader.recv_timeout(Duration::from_secs(5))
        }
        other => other,
    };
    got.map_err(|_| std::io::Error::other("its output did not end before the deadline"))?
}

/// The last `n` bytes of `s` or a little fewer (on a character boundary).
fn tail(s: &str, n: usize) -> &str {
    let mut i = s.len().saturating_sub(n);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

fn kill_group(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(script: &str, timeout: Duration) -> (TctlOptions, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "pam-mfa-tctl-{}-{}",
            std::process::id(),
            script.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let prog = dir.join("tctl");
        std::fs::write(&prog, script).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = TctlOptions {
            program: prog,
            identity: Some("/id".into()),
            auth_server: Some("auth:3025".into()),
            timeout,
        };
        (o, dir)
    }

    #[test]
    fn runs_tctl_with_its_arguments_and_reads_its_output() {
        let (o, dir) = opts(
            "#!/bin/sh\necho \"kind: role # $*\"\n",
            Duration::from_secs(20),
        );
        let s = run_tctl(&o).unwrap();
        assert_eq!(
            s.text,
            "kind: role # get role,cap,user,lock,cert_authority,cluster_networking_config --with-secrets --format=yaml -i /id --auth-server auth:3025\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failing_or_hanging_tctl_is_an_error() {
        let (o, dir) = opts(
            "#!/bin/sh\necho 'secret: x'\necho 'access denied' >&2\nexit 3\n",
            Duration::from_secs(20),
        );
        let e = run_tctl(&o).unwrap_err();
        assert!(e.contains("exit status: 3: access denied"), "{e}");
        assert!(!e.contains("secret: x"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
        let (o, dir) = opts("#!/bin/sh\nsleep 30 &\nwait\n", Duration::from_millis(300));
        let e = run_tctl(&o).unwrap_err();
        assert!(e.contains("no answer within"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
