//! Which socket the module connects to: a root caller to the agent's
//! socket only root may connect to (`<socket>.root`) first, falling back to
//! the public socket only when no agent serves that one; never when it is
//! there but cannot be trusted.

use std::os::unix::fs::chown;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pam_mfa::client::{connect_as_caller, ConnectError, Deadline};
use pam_mfa_protocol::root_socket_path;

use crate::agent::TempDir;

/// The public socket and the root one beside it, both listening.
fn both(dir: &TempDir) -> (PathBuf, PathBuf, UnixListener, UnixListener) {
    let public = dir.path().join("agent.sock");
    let root = root_socket_path(&public);
    let p = UnixListener::bind(&public).unwrap();
    let r = UnixListener::bind(&root).unwrap();
    (public, root, p, r)
}

fn connect(public: &Path, caller_is_root: bool) -> Result<PathBuf, (PathBuf, ConnectError)> {
    let deadline = Deadline::after(Duration::from_secs(2));
    connect_as_caller(public, 0, deadline, caller_is_root).map(|(_, path)| path)
}

#[test]
fn a_root_caller_connects_to_the_root_socket_and_others_to_the_public_one() {
    let dir = TempDir::new();
    let (public, root, _p, _r) = both(&dir);
    assert_eq!(connect(&public, true).unwrap(), root);
    assert_eq!(connect(&public, false).unwrap(), public);
}

#[test]
fn a_root_caller_falls_back_to_the_public_socket_when_no_agent_serves_the_root_one() {
    let dir = TempDir::new();
    let public = dir.path().join("agent.sock");
    let _p = UnixListener::bind(&public).unwrap();
    // An older agent: no root socket.
    assert_eq!(connect(&public, true).unwrap(), public);
    // One a newer agent left, nobody listening (ECONNREFUSED).
    drop(UnixListener::bind(root_socket_path(&public)).unwrap());
    assert_eq!(connect(&public, true).unwrap(), public);
}

#[test]
fn a_root_socket_that_cannot_be_trusted_is_a_failure_never_the_public_socket() {
    if !rustix::process::geteuid().is_root() {
        return; // chown needs root
    }
    let dir = TempDir::new();
    let (public, root, _p, _r) = both(&dir);
    chown(&root, Some(65534), None).unwrap();
    let (path, e) = connect(&public, true).expect_err("connected past an untrusted socket");
    assert_eq!(path, root);
    assert!(matches!(e, ConnectError::WrongOwner { uid: 65534 }), "{e}");
    assert!(!e.is_unreachable(), "would fail open");
}

#[test]
fn a_full_root_backlog_is_a_failure_never_the_public_socket() {
    use rustix::net::{bind, connect as raw_connect, listen, socket_with};
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let dir = TempDir::new();
    let public = dir.path().join("agent.sock");
    let _p = UnixListener::bind(&public).unwrap();
    let root = root_socket_path(&public);
    let addr = SocketAddrUnix::new(&root).unwrap();
    let stream = || {
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None).unwrap()
    };
    let listener = stream();
    bind(&listener, &addr).unwrap();
    listen(&listener, 0).unwrap();
    // Fill the backlog of a listener that never accepts.
    let mut held = Vec::new();
    loop {
        let s = stream();
        match raw_connect(&s, &addr) {
            Ok(()) => held.push(s),
            Err(rustix::io::Errno::AGAIN) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(held.len() < 64, "the backlog never filled");
    }
    let deadline = Deadline::after(Duration::from_millis(300));
    let (path, e) = connect_as_caller(&public, 0, deadline, true)
        .map(|_| ())
        .expect_err("went to the public socket");
    assert_eq!(path, root);
    assert!(matches!(e, ConnectError::TimedOut), "{e}");
    assert!(!e.is_unreachable());
}
