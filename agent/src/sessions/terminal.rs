//! A session's terminal, and when it last had traffic: what Teleport's
//! `client_idle_timeout` measures (its monitor's `ClientIdleTimeout`, from
//! the client's last activity, which its `trackingChannel` moves on every
//! read and every write of the session's channel: input and output alike,
//! lib/srv/monitor.go). Here the last activity is the later of the
//! terminal's access and modification times: Linux sets a tty's atime when
//! input is read from it and its mtime when output is written to it, both
//! in steps of 8 seconds (`tty_update_time`). `w` shows only the first as
//! IDLE; a session that only prints (`tail -f`, a build, `watch`) is busy.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use rustix::fs::{major, minor, statat, AtFlags, FileType, CWD};

use super::procs::{tree, ProcId, ProcStat};

/// Majors of the pseudo-terminal slaves (/dev/pts/N: 136 to 143).
const PTS_MAJORS: std::ops::RangeInclusive<u32> = 136..=143;
/// Major of the virtual consoles (/dev/ttyN, N below 64).
const CONSOLE_MAJOR: u32 = 4;

/// The device of a controlling terminal number (`tty_nr` of
/// /proc/PID/stat: major in bits 8-19, minor in bits 0-7 and 20-31): its
/// path, major and minor; `None` for a terminal that is neither a
/// pseudo-terminal nor a virtual console.
pub fn tty_device(tty_nr: u32) -> Option<(PathBuf, u32, u32)> {
    let major_nr = (tty_nr >> 8) & 0xfff;
    let minor_nr = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xf_ff00);
    let path = if PTS_MAJORS.contains(&major_nr) {
        PathBuf::from(format!("/dev/pts/{}", (major_nr - 136) * 256 + minor_nr))
    } else if major_nr == CONSOLE_MAJOR && (1..64).contains(&minor_nr) {
        PathBuf::from(format!("/dev/tty{minor_nr}"))
    } else {
        return None;
    };
    Some((path, major_nr, minor_nr))
}

/// When a session's pseudo-terminal last had input or output: the latest
/// of the access and modification times of the pseudo-terminals of `root`
/// and the processes below it (sshd names no terminal to PAM: it opens the
/// session before any channel); `None` when there is none (a command or
/// sftp session, whose traffic only sshd sees; a console, not timed). A
/// process of the session can only make it look busier, never idler.
pub fn last_activity(table: &[ProcStat], root: ProcId) -> Option<SystemTime> {
    let members = tree(table, root);
    let mut ttys: Vec<u32> = table
        .iter()
        .filter(|s| s.tty != 0 && members.contains(&s.id))
        .map(|s| s.tty)
        .collect();
    ttys.sort_unstable();
    ttys.dedup();
    ttys.into_iter()
        .filter(|&t| tty_device(t).is_some_and(|(_, major, _)| PTS_MAJORS.contains(&major)))
        .filter_map(touched)
        .max()
}

/// When a terminal last had traffic, when its device node is the device
/// named: the later of its access time (input read) and its modification
/// time (output written), as Teleport counts traffic either way.
fn touched(tty_nr: u32) -> Option<SystemTime> {
    let (path, want_major, want_minor) = tty_device(tty_nr)?;
    let st = statat(CWD, &path, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    let device = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && major(st.st_rdev) == want_major
        && minor(st.st_rdev) == want_minor;
    let input = file_time(
        u64::try_from(st.st_atime).ok(),
        u32::try_from(st.st_atime_nsec).ok(),
    );
    let output = file_time(
        u64::try_from(st.st_mtime).ok(),
        u32::try_from(st.st_mtime_nsec).ok(),
    );
    device.then(|| input.max(output))
}

/// A file time as `stat` gives it. One before the epoch (the owner of a
/// terminal may set its times) counts as the epoch: a time that does not
/// move is idle, never a terminal the timeout cannot see.
fn file_time(secs: Option<u64>, nsecs: Option<u32>) -> SystemTime {
    match (secs, nsecs) {
        (Some(secs), Some(nsecs)) => SystemTime::UNIX_EPOCH + Duration::new(secs, nsecs),
        _ => SystemTime::UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, FileTimes, OpenOptions};
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    /// A pseudo-terminal of the test's own: its master, its slave (both
    /// kept open while used) and the slave's terminal number.
    fn own_pty() -> (std::os::fd::OwnedFd, File, u32) {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let path = ptsname(&master, Vec::new()).unwrap();
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path.to_str().unwrap())
            .unwrap();
        let rdev = slave.metadata().unwrap().rdev();
        let (maj, min) = (major(rdev), minor(rdev));
        let tty_nr = (min & 0xff) | (maj << 8) | ((min & !0xff) << 12);
        assert_eq!(
            tty_device(tty_nr).unwrap().0,
            PathBuf::from(path.to_str().unwrap())
        );
        (master, slave, tty_nr)
    }

    /// Sets a terminal's access time (its input) and modification time
    /// (its output), as Linux's `tty_update_time` does.
    fn set(slave: &File, input: SystemTime, output: SystemTime) {
        let times = FileTimes::new().set_accessed(input).set_modified(output);
        slave.set_times(times).unwrap();
    }

    #[test]
    fn a_terminal_is_as_recent_as_its_last_input_or_output() {
        let (_master, slave, tty_nr) = own_pty();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let later = t + Duration::from_secs(100);
        // Output alone (`tail -f`: nothing reads the terminal) is activity,
        // as Teleport's trackingChannel counts writes too.
        set(&slave, t, later);
        assert_eq!(touched(tty_nr), Some(later), "output after input");
        set(&slave, later, t);
        assert_eq!(touched(tty_nr), Some(later), "input after output");
        // A time before the epoch hides nothing: the other still counts,
        // and with both before it the terminal reads as the epoch, a time
        // that never moves (idle), not as no terminal (never timed).
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400);
        set(&slave, before, t);
        assert_eq!(touched(tty_nr), Some(t));
        set(&slave, before, before);
        assert_eq!(touched(tty_nr), Some(SystemTime::UNIX_EPOCH));
    }

    /// `client_idle_timeout` on a real terminal: one that only prints
    /// (its modification time moving in 8-second steps, its access time
    /// never) goes on past the timeout; once it stops printing, it ends.
    #[test]
    fn a_terminal_that_only_prints_is_not_idle() {
        use super::super::idle::{idle_ends, ActivitySeen, TTY_TIME_STEP};
        use crate::policy::SessionTerms;
        let (_master, slave, tty_nr) = own_pty();
        let mut s = super::super::registry::tests::session(7, 7, "jerry");
        s.id = "a".into();
        s.terms = Some(SessionTerms {
            strict: false,
            ends_at: None,
            idle_timeout: Some(Duration::from_secs(60)),
        });
        let sessions = [s];
        let (t0, wall) = (
            std::time::Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let mut seen = ActivitySeen::new();
        let mut check = |after: Duration| {
            let now = (t0 + after, &mut seen);
            idle_ends(&sessions, &[], now, |_| touched(tty_nr))
        };
        // Printing for ten minutes, nothing typed.
        let mut at = Duration::ZERO;
        while at < Duration::from_secs(600) {
            set(&slave, wall, wall + at);
            assert!(check(at).is_empty(), "ended at {at:?} while printing");
            at += TTY_TIME_STEP;
        }
        // Then silent: it ends past the timeout and a step.
        let last = at - TTY_TIME_STEP;
        let timeout_and_step = Duration::from_secs(60) + TTY_TIME_STEP;
        assert!(check(last + timeout_and_step - Duration::from_secs(1)).is_empty());
        let ended = check(last + timeout_and_step);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert!(ended[0].1.starts_with("idle: no terminal input or output"));
    }

    #[test]
    fn terminal_numbers_name_their_devices() {
        // 136:1 -> /dev/pts/1; 137:3 -> /dev/pts/259; 4:2 -> /dev/tty2.
        let nr = |major: u32, minor: u32| (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
        assert_eq!(
            tty_device(nr(136, 1)).unwrap().0,
            PathBuf::from("/dev/pts/1")
        );
        assert_eq!(
            tty_device(nr(137, 3)).unwrap().0,
            PathBuf::from("/dev/pts/259")
        );
        assert_eq!(
            tty_device(nr(136, 300)).unwrap().0,
            PathBuf::from("/dev/pts/300")
        );
        assert_eq!(tty_device(nr(4, 2)).unwrap().0, PathBuf::from("/dev/tty2"));
        assert_eq!(tty_device(nr(4, 64)), None, "a serial line");
        assert_eq!(tty_device(nr(5, 0)), None, "/dev/tty itself");
        assert_eq!(tty_device(0), None);
    }
}
