//! `--tctl`: running `tctl get
//! role,cap,user,lock,cert_authority,cluster_networking_config
//! --with-secrets --format=yaml`, then `tctl get user_login_state
//! --format=yaml`, here, each within a deadline.

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
    /// Each tctl run is killed (its whole process group) when it has not
    /// finished by then.
    pub timeout: Duration,
}

/// The resources read in the first run, as `tctl get` names them.
/// `cluster_networking_config` carries the cluster-wide
/// `client_idle_timeout`, which Teleport applies to every SSH session
/// through `AccessChecker.AdjustClientIdleTimeout(netConfig.
/// GetClientIdleTimeout())` (the SSH access decision's `evaluateSSHAccess`,
/// lib/srv ctx.go's `clientIdleTimeout`); without it the agents would take
/// none and leave open the idle sessions Teleport ends.
pub const TCTL_RESOURCES: &str = "role,cap,user,lock,cert_authority,cluster_networking_config";

/// Read in a second run of its own: Teleport builds a user's certificates
/// from their `user_login_state` when there is one
/// (lib/services/user_login_state.go `GetUserOrLoginState`), but a tctl
/// that does not know the kind refuses a whole `get` that names it.
pub const TCTL_LOGIN_STATES: &str = "user_login_state";

/// What the tctl runs gave: their outputs, and notes for the operator.
#[derive(Debug)]
pub(crate) struct TctlOutput {
    pub sources: Vec<Source>,
    pub notes: Vec<String>,
}

/// tctl's arguments to get `resources` (with secrets or not).
pub(crate) fn tctl_args(o: &TctlOptions, resources: &str, with_secrets: bool) -> Vec<String> {
    let mut args: Vec<String> = vec!["get".into(), resources.into()];
    if with_secrets {
        args.push("--with-secrets".into());
    }
    args.push("--format=yaml".into());
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

/// Runs tctl for the resources, then for the login states. A tctl (or
/// Auth Service) that does not know `user_login_state` gives none, with a
/// note; any other failure of either run is an error (an identity that may
/// not read login states must not publish a policy without them).
pub(crate) fn run_tctl(o: &TctlOptions) -> Result<TctlOutput, String> {
    let resources = run_get(o, TCTL_RESOURCES, true).map_err(|f| f.message)?;
    let mut out = TctlOutput {
        sources: vec![resources],
        notes: Vec::new(),
    };
    match run_get(o, TCTL_LOGIN_STATES, false) {
        Ok(states) => out.sources.push(states),
        Err(f) if knows_no_login_states(&f.stderr) => out.notes.push(format!(
            "{}: tctl or the Auth Service does not know user_login_state ({}): none published. Teleport builds the certificates of users with a user_login_state (Access Lists, login rules) from it; if this cluster has any, use a tctl that reads them, or add their `tctl get user_login_state` output with --from",
            f.shown,
            tail(f.stderr.trim(), 300)
        )),
        Err(f) if f.stderr.contains("access denied") => {
            return Err(format!(
                "{} (the publisher's Teleport role must be allowed to list and read user_login_state: Teleport builds users' certificates from them, and a policy without them could need less MFA than Teleport)",
                f.message
            ))
        }
        Err(f) => return Err(f.message),
    }
    Ok(out)
}

/// Whether tctl's standard error says the kind is not one it (or the Auth
/// Service) knows: older tctl's `ParseShortcut` ("unsupported resource"),
/// `getCollection` ("getting ... is not supported", also when the Auth
/// Service does not implement it) and newer tctl's resource handlers
/// ("resource type ... unknown").
fn knows_no_login_states(stderr: &str) -> bool {
    let named = format!("\"{TCTL_LOGIN_STATES}\"");
    stderr.lines().any(|line| {
        line.contains(&named)
            && (line.contains("unsupported resource")
                || line.contains("is not supported")
                || line.contains("unknown, please check your tctl version"))
    })
}

/// A tctl run that failed: the message (never its output, which holds
/// secrets), the command line, and the end of its standard error.
struct TctlFailure {
    message: String,
    shown: String,
    stderr: String,
}

/// Runs `tctl get RESOURCES` and returns what it printed, or why not (its
/// exit status and the end of its standard error).
fn run_get(o: &TctlOptions, resources: &str, with_secrets: bool) -> Result<Source, TctlFailure> {
    use std::os::unix::process::CommandExt as _;
    let args = tctl_args(o, resources, with_secrets);
    let shown = format!("{} {}", o.program.display(), args.join(" "));
    let fail = |message: String, stderr: String| TctlFailure {
        message: format!("{shown}: {message}"),
        shown: shown.clone(),
        stderr,
    };
    let deadline = Instant::now() + o.timeout;
    let mut child = Command::new(&o.program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(e.to_string(), String::new()))?;
    let out = read_all(child.stdout.take().expect("piped"), MAX_INPUT_BYTES + 1);
    let err = read_all(child.stderr.take().expect("piped"), 64 << 10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                // Not reaped yet: the group is still tctl's.
                kill_group(child.id());
                let _ = child.wait();
                let why = format!("no answer within {:?}: killed", o.timeout);
                return Err(fail(why, String::new()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(fail(e.to_string(), String::new())),
        }
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let pgid = child.id();
    let out = collect(&out, left, pgid).map_err(|e| fail(e.to_string(), String::new()))?;
    let err = collect(&err, Duration::from_secs(1), pgid).unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err).into_owned();
        let why = format!("{status}: {}", tail(err.trim(), 2000));
        return Err(fail(why, err));
    }
    text_of(shown.clone(), out).map_err(|e| TctlFailure {
        message: e,
        shown: shown.clone(),
        stderr: String::new(),
    })
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

    /// A tctl that answers the login states' run with `states` (a shell
    /// line) and the resources' with what it was asked.
    fn two_runs(states: &str) -> String {
        format!(
            "#!/bin/sh\nif [ \"$2\" = user_login_state ]; then\n{states}\nfi\necho \"kind: role # $*\"\n"
        )
    }

    #[test]
    fn runs_tctl_for_the_resources_then_the_login_states() {
        let (o, dir) = opts(
            &two_runs("echo \"kind: user_login_state # $*\"; exit 0"),
            Duration::from_secs(20),
        );
        let out = run_tctl(&o).unwrap();
        let texts: Vec<&str> = out.sources.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "kind: role # get role,cap,user,lock,cert_authority,cluster_networking_config --with-secrets --format=yaml -i /id --auth-server auth:3025\n",
                "kind: user_login_state # get user_login_state --format=yaml -i /id --auth-server auth:3025\n",
            ]
        );
        assert!(out.sources[1]
            .origin
            .ends_with("tctl get user_login_state --format=yaml -i /id --auth-server auth:3025"));
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// What tctl prints when it, or the Auth Service, does not know the
    /// kind (lib/services ParseShortcut; tool/tctl getCollection; newer
    /// tctl's resource handlers): no login states, and a note.
    #[test]
    fn a_tctl_that_does_not_know_login_states_publishes_none_with_a_note() {
        for stderr in [
            "ERROR: unsupported resource: \\\"user_login_state\\\" - resources should be expressed as 'type/name', for example 'connector/github'",
            "ERROR: getting \\\"user_login_state\\\" is not supported",
            "ERROR: resource type \\\"user_login_state\\\" unknown, please check your tctl version",
        ] {
            let (o, dir) = opts(
                &two_runs(&format!("echo \"{stderr}\" >&2; exit 1")),
                Duration::from_secs(20),
            );
            let out = run_tctl(&o).unwrap();
            assert_eq!(out.sources.len(), 1, "{stderr}");
            assert!(out.sources[0].text.starts_with("kind: role # get role,"));
            assert_eq!(out.notes.len(), 1, "{stderr}");
            assert!(
                out.notes[0].contains("does not know user_login_state")
                    && out.notes[0].contains("none published"),
                "{:?}",
                out.notes
            );
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    /// Any other failure of the login states' run stops the publication:
    /// a policy without them could ask for less MFA than Teleport does.
    #[test]
    fn a_login_states_run_that_fails_otherwise_is_an_error() {
        let (o, dir) = opts(
            &two_runs("echo 'ERROR: access denied to perform action \"list\" on \"user_login_state\"' >&2; exit 1"),
            Duration::from_secs(20),
        );
        let e = run_tctl(&o).unwrap_err();
        assert!(
            e.contains("get user_login_state")
                && e.contains("must be allowed to list and read user_login_state"),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
        let (o, dir) = opts(
            &two_runs("echo 'ERROR: connection refused' >&2; exit 1"),
            Duration::from_secs(20),
        );
        let e = run_tctl(&o).unwrap_err();
        assert!(
            e.contains("get user_login_state") && e.contains("connection refused"),
            "{e}"
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
