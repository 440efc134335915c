//! systemd-logind, where it runs: a session it knows is ended with
//! `loginctl terminate-session`, which also reaches processes that left the
//! session's process tree (they stay in its cgroup scope).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `loginctl` may take.
const LOGINCTL_DEADLINE: Duration = Duration::from_secs(5);

/// Whether systemd runs this host (sd_booted's test).
pub fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// The logind session of `pid`, from its cgroup (`.../session-ID.scope`).
pub fn session_of(pid: i32) -> Option<String> {
    session_in_cgroup(&std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?)
}

pub fn session_in_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let path = l.splitn(3, ':').nth(2)?;
        path.split('/').find_map(|part| {
            let id = part.strip_prefix("session-")?.strip_suffix(".scope")?;
            (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
                .then(|| id.to_string())
        })
    })
}

/// Asks logind to end session `id`; `Err` says why it did not.
pub fn terminate(id: &str) -> Result<(), String> {
    let mut child = Command::new("loginctl")
        .args(["terminate-session", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("loginctl: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => return Err(format!("loginctl terminate-session {id}: {st}")),
            Ok(None) if started.elapsed() > LOGINCTL_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "loginctl terminate-session {id}: no answer in {LOGINCTL_DEADLINE:?}"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("loginctl: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_from_cgroup_lines() {
        assert_eq!(
            session_in_cgroup("0::/user.slice/user-1000.slice/session-42.scope\n"),
            Some("42".into())
        );
        assert_eq!(
            session_in_cgroup("1:name=systemd:/user.slice/user-0.slice/session-c3.scope\n0::/\n"),
            Some("c3".into())
        );
        assert_eq!(session_in_cgroup("0::/system.slice/ssh.service\n"), None);
        assert_eq!(session_in_cgroup("0::/x/session-.scope\n"), None);
        assert_eq!(session_in_cgroup("0::/x/session-1;rm.scope\n"), None);
    }
}
