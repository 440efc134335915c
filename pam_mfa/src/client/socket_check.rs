//! Who may be the agent: a socket file owned by the agent's uid (root), not a
//! symlink, and a peer whose SO_PEERCRED uid is the agent's.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{lstat, FileType};
use rustix::io::Errno;

use crate::ffi::peer_uid;

use super::ConnectError;

/// Checks the socket path with `lstat` before anything is sent.
pub fn check_socket_file(path: &Path, agent_uid: u32) -> Result<(), ConnectError> {
    let st = lstat(path).map_err(ConnectError::NoSocket)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Socket => {}
        FileType::Symlink => return Err(ConnectError::Symlink),
        _ => return Err(ConnectError::NotASocket),
    }
    if st.st_uid != agent_uid {
        return Err(ConnectError::WrongOwner { uid: st.st_uid });
    }
    Ok(())
}

/// Checks the connected peer's credentials (SO_PEERCRED).
pub fn check_peer<Fd: AsFd>(fd: Fd, agent_uid: u32) -> Result<(), ConnectError> {
    let uid = peer_uid(fd)
        .map_err(|e| ConnectError::PeerUnknown(Errno::from_io_error(&e).unwrap_or(Errno::IO)))?;
    if uid != agent_uid {
        return Err(ConnectError::WrongPeer { uid });
    }
    Ok(())
}
