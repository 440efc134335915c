//! One checked connection to an ssh-agent socket, and length-framed messages
//! (`uint32 length || payload`) with a deadline on every read and write.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{statat, AtFlags, FileType, CWD};
use rustix::io::Errno;
use rustix::net::sockopt::{set_socket_timeout, Timeout};
use rustix::net::{
    connect, recv, send, socket_with, AddressFamily, RecvFlags, SendFlags, SocketAddrUnix,
    SocketFlags, SocketType,
};

use super::AgentError;

/// The largest message sent or accepted (the length prefix excluded).
pub(super) const MAX_MESSAGE: usize = 256 * 1024;

/// A connection whose far end passed the ownership checks.
pub(super) struct Connection {
    fd: OwnedFd,
    deadline: Instant,
}

/// Checks `path` with lstat (a socket owned by `expected_uid`, no symlink
/// followed), connects, and checks the peer's SO_PEERCRED uid
/// (`expected_uid` or root). The peer check also closes the race of a socket
/// swapped between the lstat and the connect.
pub(super) fn connect_checked(
    path: &Path,
    expected_uid: u32,
    deadline: Instant,
) -> Result<Connection, AgentError> {
    check_socket_file(path, expected_uid)?;
    let addr = SocketAddrUnix::new(path).map_err(|e| AgentError::Connect {
        path: path.to_owned(),
        source: e.into(),
    })?;
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| AgentError::Io(e.into()))?;
    // A Unix stream connect waits (for a full backlog) up to SO_SNDTIMEO.
    set_timeout(&fd, Timeout::Send, deadline)?;
    match connect(&fd, &addr) {
        Ok(()) => {}
        Err(Errno::AGAIN | Errno::TIMEDOUT) => return Err(AgentError::Timeout),
        Err(e) => {
            return Err(AgentError::Connect {
                path: path.to_owned(),
                source: e.into(),
            })
        }
    }
    check_peer(&fd, expected_uid)?;
    Ok(Connection { fd, deadline })
}

fn check_socket_file(path: &Path, expected_uid: u32) -> Result<(), AgentError> {
    let st = statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| AgentError::Unreachable {
        path: path.to_owned(),
        source: e.into(),
    })?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Socket => {}
        FileType::Symlink => {
            return Err(AgentError::Symlink {
                path: path.to_owned(),
            })
        }
        _ => {
            return Err(AgentError::NotASocket {
                path: path.to_owned(),
            })
        }
    }
    if st.st_uid != expected_uid {
        return Err(AgentError::WrongOwner {
            path: path.to_owned(),
            expected: expected_uid,
            actual: st.st_uid,
        });
    }
    Ok(())
}

fn check_peer(fd: impl AsFd, expected_uid: u32) -> Result<(), AgentError> {
    // nix's UnixCredentials, not rustix's UCred: its pid may be 0 (a peer
    // in a pid namespace this one cannot see), which UCred cannot hold.
    let cred = nix::sys::socket::getsockopt(&fd, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| AgentError::Io(e.into()))?;
    let uid = cred.uid();
    // Only the expected user: accepting root here would let a user swap
    // their socket path for a root-owned listener between check and connect.
    if uid != expected_uid {
        return Err(AgentError::PeerNotAllowed {
            expected: expected_uid,
            actual: uid,
        });
    }
    Ok(())
}

/// Sets SO_RCVTIMEO or SO_SNDTIMEO to the time left; none left is a timeout.
fn set_timeout(fd: impl AsFd, which: Timeout, deadline: Instant) -> Result<(), AgentError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(AgentError::Timeout);
    }
    // The kernel keeps microseconds: round up so a sub-microsecond rest is
    // not read as "no timeout".
    let left = left.max(Duration::from_micros(1));
    set_socket_timeout(fd, which, Some(left)).map_err(|e| AgentError::Io(e.into()))
}

impl Connection {
    /// Sends one message: its length, then `payload`.
    pub(super) fn send_message(&self, payload: &[u8]) -> Result<(), AgentError> {
        if payload.len() > MAX_MESSAGE {
            return Err(AgentError::TooLarge {
                len: payload.len(),
                limit: MAX_MESSAGE,
            });
        }
        let mut frame = Vec::with_capacity(4 + payload.len());
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(payload);
        self.write_all(&frame)
    }

    /// Receives one message and returns its payload (never empty).
    pub(super) fn recv_message(&self) -> Result<Vec<u8>, AgentError> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_MESSAGE {
            return Err(AgentError::TooLarge {
                len,
                limit: MAX_MESSAGE,
            });
        }
        if len == 0 {
            return Err(AgentError::Protocol("an empty message".into()));
        }
        let mut payload = vec![0u8; len];
        self.read_exact(&mut payload)?;
        Ok(payload)
    }

    fn write_all(&self, mut buf: &[u8]) -> Result<(), AgentError> {
        while !buf.is_empty() {
            set_timeout(&self.fd, Timeout::Send, self.deadline)?;
            // NOSIGNAL: a closed peer is an error here, not a SIGPIPE.
            match send(&self.fd, buf, SendFlags::NOSIGNAL) {
                Ok(0) => return Err(AgentError::Closed),
                Ok(n) => buf = &buf[n..],
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN | Errno::TIMEDOUT) => return Err(AgentError::Timeout),
                Err(Errno::PIPE | Errno::CONNRESET) => return Err(AgentError::Closed),
                Err(e) => return Err(AgentError::Io(e.into())),
            }
        }
        Ok(())
    }

    fn read_exact(&self, buf: &mut [u8]) -> Result<(), AgentError> {
        let mut filled = 0;
        while filled < buf.len() {
            set_timeout(&self.fd, Timeout::Recv, self.deadline)?;
            match recv(&self.fd, &mut buf[filled..], RecvFlags::empty()) {
                Ok((0, _)) => return Err(AgentError::Closed),
                Ok((n, _)) => filled += n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN | Errno::TIMEDOUT) => return Err(AgentError::Timeout),
                Err(Errno::CONNRESET) => return Err(AgentError::Closed),
                Err(e) => return Err(AgentError::Io(e.into())),
            }
        }
        Ok(())
    }
}
