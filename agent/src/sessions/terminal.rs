//! A session's terminal, and when it last had input: what Teleport's
//! `client_idle_timeout` measures (its monitor's `ClientIdleTimeout`, from
//! the client's last activity). Here the last input is the terminal's
//! access time: Linux sets a tty's atime when input is read from it (in
//! steps of 8 seconds), which is what `w` shows as IDLE.

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

/// When a session's pseudo-terminal last had input: the latest access time
/// among the pseudo-terminals of `root` and the processes below it (sshd
/// names no terminal to PAM: it opens the session before any channel);
/// `None` when there is none (a command or sftp session, whose traffic
/// only sshd sees; a console, whose access time a graphical session never
/// moves). A process of the session can only make it look busier, never
/// idler.
pub fn last_input(table: &[ProcStat], root: ProcId) -> Option<SystemTime> {
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
        .filter_map(accessed)
        .max()
}

/// A terminal's access time, when its device node is the device named.
fn accessed(tty_nr: u32) -> Option<SystemTime> {
    let (path, want_major, want_minor) = tty_device(tty_nr)?;
    let st = statat(CWD, &path, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    let device = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && major(st.st_rdev) == want_major
        && minor(st.st_rdev) == want_minor;
    let since_epoch = Duration::new(
        u64::try_from(st.st_atime).ok()?,
        u32::try_from(st.st_atime_nsec).ok()?,
    );
    device.then(|| SystemTime::UNIX_EPOCH + since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

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
