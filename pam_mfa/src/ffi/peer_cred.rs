//! SO_PEERCRED read into the kernel's own `struct ucred`: its pid is 0 when
//! the peer's process is not visible from this pid namespace, which a type
//! that cannot hold 0 (rustix's `UCred`) must never be handed.

use std::os::fd::{AsFd, AsRawFd};

/// The uid of the process at the other end of the connected Unix socket.
pub fn peer_uid(fd: impl AsFd) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor borrowed for the call; `cred` is a
    // writable `struct ucred` and `len` its exact size, as SO_PEERCRED
    // expects; every bit pattern of its three integers is valid.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if len as usize != std::mem::size_of::<libc::ucred>() {
        return Err(std::io::Error::other("SO_PEERCRED returned a short ucred"));
    }
    Ok(cred.uid)
}
