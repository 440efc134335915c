//! Running a helper as an unprivileged user, and waiting on a condition
//! within a bound (shared by the hostile-user scenarios).

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `cmd` as the unprivileged user `uid`/`gid` (no supplementary
/// groups); with `files`, its open-files limit is raised to that many
/// first (room for a full listen queue, `somaxconn` 4096 by default).
pub fn as_user(cmd: &mut Command, uid: u32, gid: u32, files: Option<u64>) {
    // SAFETY: setrlimit, setgroups, setgid and setuid are async-signal-safe
    // and touch no Rust state.
    unsafe {
        cmd.pre_exec(move || {
            let raised = files.is_none_or(|n| {
                let lim = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0
            });
            if !raised
                || libc::setgroups(0, std::ptr::null()) == -1
                || libc::setgid(gid) == -1
                || libc::setuid(uid) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Waits until `done`, or panics after `limit` (a bound, not a timing).
pub fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
