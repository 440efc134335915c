//! An agent that is missing, untrusted, stuck or gone: the fail mode.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{chown, symlink};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use pam_mfa::ffi::consts::*;
use pam_mfa::log::Level;
use pam_mfa_protocol::{PamHook, RequestBody};
use rustix::net::{
    bind, connect, listen, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType,
};

use crate::agent::{socket_arg, Agent, TempDir};
use crate::handle::{run, Scripted};

const MODES: [(&str, i32); 2] = [
    ("fail_mode=closed", PAM_AUTHINFO_UNAVAIL),
    ("fail_mode=open", PAM_IGNORE),
];

/// An untrusted socket, or an agent that is there but cannot be trusted to
/// answer: PAM_AUTH_ERR whatever the fail mode (never fail-open).
fn assert_failure(socket_arg: &str, why: &str) {
    for (mode, _) in MODES {
        for hook in [PamHook::Auth, PamHook::Account, PamHook::OpenSession] {
            let mut h = Scripted::new();
            let (code, lines) = run(&mut h, hook, &[socket_arg, mode]);
            assert_eq!(code, PAM_AUTH_ERR, "{hook:?} {mode}: {}", lines.all_text());
            assert!(
                !lines.any(Level::Alert, "FAIL-OPEN"),
                "{}",
                lines.all_text()
            );
            assert!(
                lines.all_text().contains(why),
                "{why} not in {}",
                lines.all_text()
            );
        }
    }
}

fn assert_fail_mode(socket_arg: &str, extra: &[&str], why: &str) {
    for (mode, want) in MODES {
        for hook in [
            PamHook::Auth,
            PamHook::Account,
            PamHook::OpenSession,
            PamHook::CloseSession,
        ] {
            let mut args = vec![socket_arg, mode];
            args.extend_from_slice(extra);
            let mut h = Scripted::new();
            let (code, lines) = run(&mut h, hook, &args);
            assert_eq!(code, want, "{hook:?} {mode}: {}", lines.all_text());
            if want == PAM_IGNORE {
                assert!(lines.any(Level::Alert, "FAIL-OPEN"), "{}", lines.all_text());
            } else {
                assert!(lines.any(Level::Err, "PAM_AUTHINFO_UNAVAIL"));
            }
            assert!(
                lines.all_text().contains(why),
                "{why} not in {}",
                lines.all_text()
            );
        }
    }
}

#[test]
fn no_socket() {
    let dir = TempDir::new();
    assert_fail_mode(
        &socket_arg(&dir.path().join("absent.sock")),
        &[],
        "cannot stat the socket",
    );
}

#[test]
fn a_socket_not_owned_by_root_is_not_used() {
    let dir = TempDir::new();
    let path = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    chown(&path, Some(65534), Some(65534)).unwrap();
    assert_failure(&socket_arg(&path), "owned by uid 65534");
    assert!(listener.accept().is_err(), "the module must not connect");
}

#[test]
fn a_symlinked_socket_is_refused() {
    let dir = TempDir::new();
    let path = dir.path().join("agent.sock");
    let link = dir.path().join("link.sock");
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    symlink(&path, &link).unwrap();
    assert_failure(&socket_arg(&link), "symlink");
    assert!(listener.accept().is_err(), "the module must not connect");
}

#[test]
fn a_plain_file_is_not_a_socket() {
    let dir = TempDir::new();
    let path = dir.path().join("agent.sock");
    std::fs::write(&path, b"").unwrap();
    assert_failure(&socket_arg(&path), "not a socket");
}

#[test]
fn a_socket_nobody_listens_on_is_refused() {
    let dir = TempDir::new();
    let path = dir.path().join("agent.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert_fail_mode(&socket_arg(&path), &[], "cannot connect");
}

/// An agent that accepted and then stays silent is not "unreachable": a
/// local user crowding the agent must not turn MFA off with fail_mode=open.
#[test]
fn an_agent_that_accepts_and_never_answers() {
    for mode in ["fail_mode=closed", "fail_mode=open"] {
        let want = PAM_AUTH_ERR;
        let agent = Agent::spawn(|peer| {
            peer.recv();
            // never answers; keeps the connection until the module closes it
        });
        let mut h = Scripted::new();
        let started = Instant::now();
        let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "timeout=1", mode]);
        let took = started.elapsed();
        assert_eq!(code, want, "{}", lines.all_text());
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(2),
            "{took:?}"
        );
        assert!(
            lines.all_text().contains("timed out"),
            "{}",
            lines.all_text()
        );
        assert_eq!(agent.finish()[1..], [RequestBody::Cancel]);
    }
}

/// An agent that closed or reset the connection mid-exchange (killed,
/// crowded) is a failure, never "unreachable": fail_mode=open must not
/// apply.
#[test]
fn an_agent_that_closes_before_answering() {
    for (mode, _) in MODES {
        let want = PAM_AUTH_ERR;
        let agent = Agent::spawn(|peer| {
            peer.recv();
            peer.stream().shutdown(std::net::Shutdown::Both).unwrap();
        });
        let mut h = Scripted::new();
        let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), mode]);
        assert_eq!(code, want, "{}", lines.all_text());
        assert!(
            lines.all_text().contains("closed the connection"),
            "{}",
            lines.all_text()
        );
        agent.finish();
    }
}

/// A listener that never accepts, with a full backlog.
fn jammed_listener(dir: &TempDir) -> (std::path::PathBuf, OwnedFd, Vec<OwnedFd>) {
    let path = dir.path().join("agent.sock");
    let listener = socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let addr = SocketAddrUnix::new(&path).unwrap();
    bind(&listener, &addr).unwrap();
    listen(&listener, 0).unwrap();
    let mut fillers = Vec::new();
    loop {
        let fd = socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        match connect(&fd, &addr) {
            Ok(()) => fillers.push(fd),
            Err(rustix::io::Errno::AGAIN) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(fillers.len() < 1000, "backlog never filled");
    }
    (path, listener, fillers)
}

#[test]
fn an_agent_that_never_accepts() {
    let dir = TempDir::new();
    let (path, _listener, _fillers) = jammed_listener(&dir);
    for (mode, _) in MODES {
        let mut h = Scripted::new();
        let started = Instant::now();
        let (code, lines) = run(
            &mut h,
            PamHook::Auth,
            &[&socket_arg(&path), "timeout=1", mode],
        );
        let took = started.elapsed();
        assert_eq!(code, PAM_AUTH_ERR, "{mode}: {}", lines.all_text());
        assert!(
            !lines.any(Level::Alert, "FAIL-OPEN"),
            "{}",
            lines.all_text()
        );
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_millis(1500),
            "{took:?}"
        );
        assert!(
            lines.all_text().contains("backlog full"),
            "{}",
            lines.all_text()
        );
    }
}

/// A hung agent holds a logout at most 2 s, whatever `timeout=` says.
#[test]
fn close_session_waits_at_most_two_seconds() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        // never answers
    });
    let mut h = Scripted::new();
    let started = Instant::now();
    let (code, lines) = run(&mut h, PamHook::CloseSession, &[&agent.arg(), "timeout=10"]);
    let took = started.elapsed();
    assert_ne!(code, PAM_SUCCESS, "{}", lines.all_text());
    assert_ne!(code, PAM_IGNORE, "{}", lines.all_text());
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(agent.finish()[1..], [RequestBody::Cancel]);
}

/// An agent that keeps answering `wait` holds a logout no longer: waits count
/// against `wait_timeout=`, which close_session caps as well.
#[test]
fn close_session_is_not_held_by_waits() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.keep_waiting(500);
    });
    let mut h = Scripted::new();
    let started = Instant::now();
    let (code, lines) = run(
        &mut h,
        PamHook::CloseSession,
        &[&agent.arg(), "timeout=10", "wait_timeout=60"],
    );
    let took = started.elapsed();
    assert_ne!(code, PAM_SUCCESS, "{}", lines.all_text());
    assert_ne!(code, PAM_IGNORE, "{}", lines.all_text());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(agent.finish().last(), Some(&RequestBody::Cancel));
}
