//! Processes of a session, read from /proc: one process is named by its pid
//! and its start time, so a reused pid is never mistaken for it.

use std::collections::BTreeSet;

use rustix::process::{kill_process, pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};

/// One process: pid and start time (clock ticks since boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

/// What /proc/PID/stat says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub id: ProcId,
    pub ppid: i32,
    /// Exited but not yet reaped.
    pub zombie: bool,
    /// Its controlling terminal's device number (`tty_nr`; 0: none).
    pub tty: u32,
}

/// Parses the text of /proc/PID/stat. The command name may itself contain
/// spaces and parentheses: the fields after the last `)` are the ones read.
pub fn parse_stat(pid: i32, text: &str) -> Option<ProcStat> {
    let after = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(ProcStat {
        id: ProcId {
            pid,
            start: f.get(19)?.parse().ok()?,
        },
        ppid: f.get(1)?.parse().ok()?,
        zombie: matches!(f.first(), Some(&"Z") | Some(&"X")),
        // The kernel prints it as a signed int: its bits are the number.
        tty: f
            .get(4)
            .and_then(|t| t.parse::<i32>().ok())
            .map_or(0, |t| t as u32),
    })
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    if pid <= 0 {
        return None;
    }
    parse_stat(
        pid,
        &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
    )
}

/// Whether this exact process (pid and start time) still runs. A zombie
/// does not count: it has ended and only waits for its parent.
pub fn is_alive(id: ProcId) -> bool {
    stat(id.pid).is_some_and(|s| s.id == id && !s.zombie)
}

/// The process now holding `pid`, if any.
pub fn identify(pid: i32) -> Option<ProcId> {
    stat(pid).map(|s| s.id)
}

/// Every process on the system.
pub fn table() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// `root` and every process below it in `table`, deepest first (so a
/// signal reaches children before the parent that might respawn them).
/// Empty when `root` is not in the table with its start time.
pub fn tree(table: &[ProcStat], root: ProcId) -> Vec<ProcId> {
    if !table.iter().any(|s| s.id == root) {
        return Vec::new();
    }
    let mut levels: Vec<Vec<ProcId>> = vec![vec![root]];
    let mut seen: BTreeSet<i32> = BTreeSet::from([root.pid]);
    loop {
        let parents: BTreeSet<i32> = levels.last().into_iter().flatten().map(|p| p.pid).collect();
        let next: Vec<ProcId> = table
            .iter()
            .filter(|s| parents.contains(&s.ppid) && !seen.contains(&s.id.pid))
            .map(|s| s.id)
            .collect();
        if next.is_empty() {
            break;
        }
        seen.extend(next.iter().map(|p| p.pid));
        levels.push(next);
    }
    levels.into_iter().rev().flatten().collect()
}

/// Sends `sig` to each process that is still the one named (same start
/// time), never to pid 1 or to this agent. Returns how many were signalled.
pub fn signal_all(targets: &[ProcId], sig: Signal) -> usize {
    let me = std::process::id() as i32;
    targets
        .iter()
        .filter(|t| t.pid > 1 && t.pid != me)
        .filter(|t| signal_one(**t, sig))
        .count()
}

/// A pidfd pins the process it was opened for: checked against the start
/// time after opening, the signal cannot reach a process that took the pid
/// over. Kernels without pidfds (before 5.3) get a plain kill after the same
/// check.
fn signal_one(t: ProcId, sig: Signal) -> bool {
    let Some(pid) = Pid::from_raw(t.pid) else {
        return false;
    };
    match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => is_alive(t) && pidfd_send_signal(&fd, sig).is_ok(),
        Err(rustix::io::Errno::NOSYS) => is_alive(t) && kill_process(pid, sig).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(pid: i32, ppid: i32, start: u64) -> ProcStat {
        ProcStat {
            id: ProcId { pid, start },
            ppid,
            zombie: false,
            tty: 0,
        }
    }

    #[test]
    fn stat_with_odd_command_names() {
        let text =
            "4242 (sshd: a) (b) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 0 0";
        let s = parse_stat(4242, text).unwrap();
        assert_eq!(
            s.id,
            ProcId {
                pid: 4242,
                start: 98765
            }
        );
        assert_eq!(s.ppid, 17);
        assert!(!s.zombie);
        assert_eq!(s.tty, 0);
        let on_pts = "9 (bash) S 8 9 9 34817 9 4194560 1 0 0 0 0 0 0 0 20 0 1 0 77 0 0";
        assert_eq!(parse_stat(9, on_pts).unwrap().tty, 34817);
        let z = "7 (x) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert!(parse_stat(7, z).unwrap().zombie);
        assert_eq!(parse_stat(7, "7 (x"), None);
        assert_eq!(parse_stat(7, "7 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = identify(std::process::id() as i32).unwrap();
        assert!(is_alive(me));
        assert!(!is_alive(ProcId {
            pid: me.pid,
            start: me.start + 1
        }));
        assert_eq!(identify(-3), None);
    }

    #[test]
    fn tree_is_deepest_first_and_checks_the_root() {
        // 10 -> 11 -> 13, 10 -> 12; 20 unrelated; 14 child of 13.
        let t = vec![
            st(10, 1, 100),
            st(11, 10, 101),
            st(12, 10, 102),
            st(13, 11, 103),
            st(14, 13, 104),
            st(20, 1, 200),
        ];
        let got = tree(
            &t,
            ProcId {
                pid: 10,
                start: 100,
            },
        );
        let pids: Vec<i32> = got.iter().map(|p| p.pid).collect();
        assert_eq!(pids.len(), 5);
        assert_eq!(pids.last(), Some(&10));
        assert_eq!(pids.first(), Some(&14));
        assert!(!pids.contains(&20));
        let pos = |p| pids.iter().position(|x| *x == p).unwrap();
        assert!(pos(13) < pos(11) && pos(11) < pos(10));
        // The pid now names another process: nothing to signal.
        assert!(tree(&t, ProcId { pid: 10, start: 99 }).is_empty());
    }

    #[test]
    fn signals_a_real_child_tree() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .unwrap();
        let root = identify(child.id() as i32).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut procs = tree(&table(), root);
        while procs.len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            procs = tree(&table(), root);
        }
        assert_eq!(procs.len(), 2, "sh and its sleep");
        let sleeper = procs[0];
        // The sleep first (deepest first); sh may exit on its own before
        // its turn comes, and is then not signalled.
        let n = signal_all(&procs, Signal::KILL);
        assert!((1..=2).contains(&n), "{n}");
        child.wait().unwrap();
        while is_alive(sleeper) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!is_alive(sleeper));
        assert_eq!(
            signal_all(&procs, Signal::KILL),
            0,
            "gone: not signalled again"
        );
    }
}
