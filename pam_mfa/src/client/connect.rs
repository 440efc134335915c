//! Connecting within the deadline: a non-blocking connect retried while the
//! agent's backlog is full, so a stuck agent cannot hang sshd. A root
//! caller tries the agent's socket only root may connect to first
//! ([`connect_as_caller`]).

use std::fmt;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use pam_mfa_protocol::root_socket_path;
use rustix::io::Errno;
use rustix::net::{socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use crate::args::MAX_SOCKET_PATH;

use super::socket_check::{check_peer, check_socket_file};
use super::{Connection, Deadline};

/// Longest pause between two connection attempts on a full backlog.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Why no connection to a trusted agent was made.
#[derive(Debug)]
pub enum ConnectError {
    /// `lstat` failed (usually: no such file).
    NoSocket(Errno),
    /// The path is a symlink.
    Symlink,
    /// The path is not a socket.
    NotASocket,
    /// The socket file is not owned by the agent's uid.
    WrongOwner { uid: u32 },
    /// `connect` failed (refused, permission, ...).
    Refused(Errno),
    /// The backlog stayed full until the deadline.
    TimedOut,
    /// SO_PEERCRED failed.
    PeerUnknown(Errno),
    /// The peer does not run as the agent's uid.
    WrongPeer { uid: u32 },
    /// A local failure (no socket could be made): not the agent's fault, and
    /// not a reason to fail open.
    Local(Errno),
}

impl ConnectError {
    /// Whether this means "there is no agent at all" (fail mode applies):
    /// no socket file, or nobody listening on it. Everything else is a
    /// failure, never fail-open: a full backlog (a local user can fill it),
    /// a socket that is not the agent's (symlink, wrong owner, wrong peer),
    /// or a local failure of this process.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ConnectError::NoSocket(Errno::NOENT) | ConnectError::Refused(Errno::CONNREFUSED)
        )
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::NoSocket(e) => write!(f, "cannot stat the socket: {e}"),
            ConnectError::Symlink => f.write_str("the socket path is a symlink"),
            ConnectError::NotASocket => f.write_str("the socket path is not a socket"),
            ConnectError::WrongOwner { uid } => write!(f, "the socket is owned by uid {uid}"),
            ConnectError::Refused(e) => write!(f, "cannot connect: {e}"),
            ConnectError::TimedOut => f.write_str("timed out connecting (backlog full)"),
            ConnectError::PeerUnknown(e) => write!(f, "cannot read the peer's credentials: {e}"),
            ConnectError::WrongPeer { uid } => write!(f, "the peer runs as uid {uid}"),
            ConnectError::Local(e) => write!(f, "cannot create a socket: {e}"),
        }
    }
}

/// Connects to the agent at `path`, checking the socket file before and the
/// peer's credentials after connecting. The returned connection stays
/// non-blocking: its reads and writes wait in `poll`, within the same
/// deadline.
pub fn connect(
    path: &Path,
    agent_uid: u32,
    deadline: Deadline,
) -> Result<Connection, ConnectError> {
    check_socket_file(path, agent_uid)?;
    let addr = SocketAddrUnix::new(path).map_err(ConnectError::Refused)?;
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .map_err(ConnectError::Local)?;
    connect_until(&fd, &addr, &deadline)?;
    check_peer(&fd, agent_uid)?;
    Ok(Connection::new(fd, deadline))
}

/// Connects as the module's caller should: a root caller (sshd, sudo, su,
/// login: euid 0) to `<public>.root` first, the agent's socket only root
/// may connect to, whose queue no local user can fill; everyone else to
/// `public`. The root socket is passed over only when no agent serves it:
/// it does not exist (an older agent; or its path would not fit a socket
/// address, so no agent could make it) or nobody listens on it (a socket
/// an agent left, while an older one serves `public`). Then `public`
/// decides, as it would have. Any other failure on the root socket (not
/// root's, backlog full until the deadline, peer not root) is that
/// failure: never "no agent", so never fail-open, and never a reason to
/// try a socket others can reach. The path connected to, or the one that
/// failed, comes with the result.
pub fn connect_as_caller(
    public: &Path,
    agent_uid: u32,
    deadline: Deadline,
    caller_is_root: bool,
) -> Result<(Connection, PathBuf), (PathBuf, ConnectError)> {
    if caller_is_root {
        let root = root_socket_path(public);
        if root.as_os_str().len() <= MAX_SOCKET_PATH {
            match connect(&root, agent_uid, deadline) {
                Ok(conn) => return Ok((conn, root)),
                Err(e) if !e.is_unreachable() => return Err((root, e)),
                Err(_) => {} // no agent serves it: `public` decides
            }
        }
    }
    match connect(public, agent_uid, deadline) {
        Ok(conn) => Ok((conn, public.to_path_buf())),
        Err(e) => Err((public.to_path_buf(), e)),
    }
}

fn connect_until(
    fd: &OwnedFd,
    addr: &SocketAddrUnix,
    deadline: &Deadline,
) -> Result<(), ConnectError> {
    let mut pause = Duration::from_millis(1);
    loop {
        match rustix::net::connect(fd, addr) {
            Ok(()) | Err(Errno::ISCONN) => return Ok(()),
            Err(Errno::INTR) => continue,
            // AF_UNIX: the listener's backlog is full. INPROGRESS/ALREADY do
            // not happen for AF_UNIX on Linux; polling again covers them.
            Err(Errno::AGAIN | Errno::INPROGRESS | Errno::ALREADY) => {
                let left = deadline.remaining().ok_or(ConnectError::TimedOut)?;
                sleep(pause.min(left));
                pause = (pause * 2).min(MAX_PAUSE);
            }
            Err(e) => return Err(ConnectError::Refused(e)),
        }
    }
}
