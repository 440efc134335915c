//! mfactl's side of the socket: one request, one answer, with a deadline,
//! to an agent it trusts. As pam_mfa.so does, mfactl uses the socket only
//! when it is a socket (not a symlink) owned by the agent's uid, and the
//! answer only when the process on the other end runs as that uid:
//! `mfactl authorized-keys` prints what it gets to sshd as authorized keys,
//! and `--socket`/`PAM_MFA_SOCKET` choose the path.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use pam_mfa_protocol::{
    read_frame, write_frame, FrameError, Request, RequestBody, Response, ResponseBody,
};

/// The agent's socket and the uid the agent runs as (root; another only
/// with `--agent-uid`, for an agent run by a user in tests): the socket
/// file must be that uid's, and so must the process answering on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSocket {
    pub path: PathBuf,
    pub uid: u32,
}

impl AgentSocket {
    /// The socket at `path` of an agent running as root.
    pub fn of_root(path: &Path) -> AgentSocket {
        AgentSocket {
            path: path.to_path_buf(),
            uid: 0,
        }
    }
}

/// Sends `body` and waits for the answer, `timeout` at most in all
/// (connecting included: a frozen agent whose listen queue is full blocks
/// even `connect`).
pub fn ask(
    agent: &AgentSocket,
    body: RequestBody,
    timeout: Duration,
) -> Result<ResponseBody, String> {
    let (tx, rx) = mpsc::channel();
    let to = agent.clone();
    // The exchange runs on its own thread so the deadline holds whatever
    // blocks; mfactl exits right after, which ends a thread still stuck.
    std::thread::spawn(move || {
        let _ = tx.send(exchange(&to, body, timeout));
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(no_answer(&agent.path, timeout)),
    }
}

fn no_answer(socket: &Path, timeout: Duration) -> String {
    format!(
        "mfa-agent at {} did not answer within {} (is it hung or overloaded?)",
        socket.display(),
        words(timeout)
    )
}

/// `5s`, `1500ms`: as `--timeout` is written.
fn words(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

fn exchange(
    agent: &AgentSocket,
    body: RequestBody,
    timeout: Duration,
) -> Result<ResponseBody, String> {
    let socket = agent.path.as_path();
    trusted_socket_file(agent)?;
    let mut s = UnixStream::connect(socket).map_err(|e| unreachable(socket, &e))?;
    trusted_peer(&s, agent)?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let why = |e: FrameError| match e {
        FrameError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            no_answer(socket, timeout)
        }
        other => format!("mfa-agent: {other}"),
    };
    write_frame(&mut s, &Request::new(body)).map_err(why)?;
    let resp: Response = read_frame(&mut s).map_err(why)?;
    Ok(resp.body)
}

fn unreachable(socket: &Path, e: &std::io::Error) -> String {
    format!(
        "cannot reach mfa-agent at {}: {e} (is it running?)",
        socket.display()
    )
}

/// The socket file is the agent's: a socket (`lstat`: a symlink is not
/// followed) owned by the agent's uid.
fn trusted_socket_file(agent: &AgentSocket) -> Result<(), String> {
    let path = agent.path.display();
    let meta = std::fs::symlink_metadata(&agent.path).map_err(|e| unreachable(&agent.path, &e))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(format!(
            "{path} is a symlink, not the agent's socket: refusing to use it"
        ));
    }
    if !kind.is_socket() {
        return Err(format!(
            "{path} is not a socket: refusing to use it as the agent's"
        ));
    }
    if meta.uid() != agent.uid {
        return Err(format!(
            "{path} is owned by uid {}, not by the agent's uid {}: refusing to use it",
            meta.uid(),
            agent.uid
        ));
    }
    Ok(())
}

/// The process answering on the socket runs as the agent's uid
/// (SO_PEERCRED, as the kernel recorded it when that process listened).
fn trusted_peer(stream: &UnixStream, agent: &AgentSocket) -> Result<(), String> {
    let path = agent.path.display();
    let cred = getsockopt(stream, PeerCredentials)
        .map_err(|e| format!("cannot tell who answers on {path}: {e}"))?;
    if cred.uid() != agent.uid {
        return Err(format!(
            "the process answering on {path} runs as uid {}, not as the agent's uid {}: refusing to use its answer",
            cred.uid(),
            agent.uid
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
