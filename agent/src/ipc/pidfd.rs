//! A process's real uid and parent through its pidfd (`PIDFD_GET_INFO`,
//! Linux 6.13 and later): two system calls and 64 bytes, where
//! /proc/PID/status renders a page of text (most of the agent's time per
//! connection from a root peer). `None` sends the caller to /proc: a kernel
//! without the ioctl (remembered, so it is asked once), or a process gone.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::process::{pidfd_open, Pid, PidfdFlags};

/// Set once the kernel said it has no `PIDFD_GET_INFO`.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// (real uid, parent pid) of `pid`, as /proc/PID/status's `Uid:` (first
/// field) and `PPid:` give them.
pub(super) fn real_uid_and_parent(pid: i32) -> Option<(u32, i32)> {
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return None;
    }
    let fd = pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
    // SAFETY: `pidfd_info` is plain integers, for which all zeros is a
    // valid value.
    let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
    info.mask = u64::from(libc::PIDFD_INFO_CREDS);
    // SAFETY: `fd` is an open pidfd for the call; PIDFD_GET_INFO writes at
    // most the size encoded in the request, `size_of::<pidfd_info>()`, into
    // `info`, which outlives the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::PIDFD_GET_INFO, &mut info) };
    if rc != 0 {
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOTTY) {
            UNSUPPORTED.store(true, Ordering::Relaxed);
        }
        return None;
    }
    if info.mask & u64::from(libc::PIDFD_INFO_CREDS) == 0 {
        return None;
    }
    Some((info.ruid, i32::try_from(info.ppid).ok()?))
}
