use std::time::Duration;

use super::wait_until;

/// (pid, ppid, uid) of every process, read from /proc.
fn process_table() -> Vec<(i32, i32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
        };
        let ppid = field("PPid:").and_then(|s| s.parse().ok()).unwrap_or(0);
        let uid = field("Uid:")
            .and_then(|s| s.parse().ok())
            .unwrap_or(u32::MAX);
        out.push((pid, ppid, uid));
    }
    out
}

/// Every live descendant of `pid` (children, their children, ...).
pub fn descendants(pid: i32) -> Vec<i32> {
    let table = process_table();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, ppid, _) in &table {
            if ppid == p && !found.contains(&child) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

/// PIDs of the processes running as `uid`.
pub fn processes_of_uid(uid: u32) -> Vec<i32> {
    process_table()
        .into_iter()
        .filter(|&(_, _, u)| u == uid)
        .map(|(p, _, _)| p)
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the command name in parentheses.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

/// Stops `pid` and all its descendants: SIGTERM to `pid`, a grace period, then
/// SIGKILL to whatever of the tree is left. Every signal goes to a PID found in
/// the tree, never to a name. The caller reaps `pid` if it is its child.
pub fn kill_tree(pid: i32, grace: Duration) {
    let tree = descendants(pid);
    // SAFETY: kill by PID on a process this suite started (or its descendants).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    wait_until(grace, Duration::from_millis(20), || !pid_alive(pid));
    let mut rest = tree;
    rest.extend(descendants(pid));
    rest.push(pid);
    for p in rest {
        if pid_alive(p) {
            // SAFETY: as above.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
}
