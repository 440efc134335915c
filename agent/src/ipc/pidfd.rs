//! A process's real uid and parent through its pidfd (`PIDFD_GET_INFO`,
//! Linux 6.13 and later): two system calls and 64 bytes, where
//! /proc/PID/status renders a page of text (most of the agent's time per
//! connection from a root peer). `None` sends the caller to /proc: a kernel
//! without the ioctl (remembered, so it is asked once), or a process gone.
//!
//! And the peer itself, pinned: the pid SO_PEERCRED gives is the connecting
//! process's at `connect` time; once that process is gone, the pid may name
//! another process by the time the agent reads /proc/PID (a person counted
//! wrongly, another process's environment or start time read for a login).
//! SO_PEERPIDFD (Linux 6.5) gives a pidfd for exactly that process; while
//! it says the process runs, /proc/PID is that process.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::process::{pidfd_open, Pid, PidfdFlags};

/// `SO_PEERPIDFD` (asm-generic/socket.h; not in the libc crate yet).
const SO_PEERPIDFD: libc::c_int = 77;

/// A pidfd for the process at the other end of `sock`: from SO_PEERPIDFD,
/// else (older kernels) opened from `pid`, as early as the agent can.
/// `Err` when the kernel says that process is gone already.
pub(super) fn of_peer(sock: impl AsFd, pid: i32) -> Result<Option<OwnedFd>, PeerGone> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_PEERPIDFD writes one int (a new descriptor, close-on-exec)
    // into `fd` and its size into `len`, both of which outlive the call;
    // `sock` is open for it.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 && fd >= 0 {
        // SAFETY: the kernel just returned `fd`, owned by no one else.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    // An exited peer: ESRCH from Linux 6.15, EINVAL before (pidfd_prepare
    // refuses a pid with no task); then pidfd_open(pid) below could pin
    // whatever process has the pid by now.
    if rc != 0
        && matches!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ESRCH | libc::EINVAL)
        )
    {
        return Err(PeerGone);
    }
    Ok(Pid::from_raw(pid).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok()))
}

/// The connecting process exited before the agent could pin it.
#[derive(Debug)]
pub(super) struct PeerGone;

/// Whether the process behind `pidfd` still holds its pid (a zombie not
/// yet reaped does: its pid cannot name another process yet).
pub(super) fn still_runs(pidfd: &OwnedFd) -> bool {
    // SAFETY: pidfd_send_signal with signal 0 only checks; `pidfd` is open
    // for the call and the info pointer may be null.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Set once the kernel said it has no `PIDFD_GET_INFO`.
static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// (real uid, parent pid) of `pid`, as /proc/PID/status's `Uid:` (first
/// field) and `PPid:` give them.
pub(super) fn real_uid_and_parent(pid: i32) -> Option<(u32, i32)> {
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return None;
    }
    let fd = pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
    real_uid_and_parent_of(&fd)
}

/// The same for the process behind `fd`.
pub(super) fn real_uid_and_parent_of(fd: &OwnedFd) -> Option<(u32, i32)> {
    if UNSUPPORTED.load(Ordering::Relaxed) {
        return None;
    }
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
