//! What can go wrong talking to an ssh-agent.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an ssh-agent request did not give an answer.
#[derive(Debug)]
pub enum AgentError {
    /// The socket path could not be examined (missing, no permission, ...).
    Unreachable { path: PathBuf, source: io::Error },
    /// The path is a symbolic link; it is never followed.
    Symlink { path: PathBuf },
    /// The path is not a Unix socket.
    NotASocket { path: PathBuf },
    /// The socket file belongs to someone else.
    WrongOwner {
        path: PathBuf,
        expected: u32,
        actual: u32,
    },
    /// The connection could not be made.
    Connect { path: PathBuf, source: io::Error },
    /// The process on the other end is neither the expected user nor root.
    PeerNotAllowed { expected: u32, actual: u32 },
    /// The deadline passed before the agent answered.
    Timeout,
    /// The agent closed the connection before a whole answer.
    Closed,
    /// A read or write failed.
    Io(io::Error),
    /// A message over the size limit, in either direction.
    TooLarge { len: usize, limit: usize },
    /// The agent's answer does not follow the protocol.
    Protocol(String),
    /// The agent answered SSH_AGENT_FAILURE (no such key, refused, locked).
    Refused,
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { path, source } => {
                write!(f, "ssh-agent socket {}: {source}", path.display())
            }
            Self::Symlink { path } => write!(
                f,
                "ssh-agent socket {} is a symbolic link (not followed)",
                path.display()
            ),
            Self::NotASocket { path } => {
                write!(f, "ssh-agent socket {} is not a socket", path.display())
            }
            Self::WrongOwner {
                path,
                expected,
                actual,
            } => write!(
                f,
                "ssh-agent socket {} is owned by uid {actual}, not uid {expected}",
                path.display()
            ),
            Self::Connect { path, source } => write!(
                f,
                "cannot connect to ssh-agent socket {}: {source}",
                path.display()
            ),
            Self::PeerNotAllowed { expected, actual } => write!(
                f,
                "the ssh-agent runs as uid {actual}, not as uid {expected} or root"
            ),
            Self::Timeout => f.write_str("the ssh-agent did not answer in time"),
            Self::Closed => f.write_str("the ssh-agent closed the connection"),
            Self::Io(e) => write!(f, "talking to the ssh-agent: {e}"),
            Self::TooLarge { len, limit } => write!(
                f,
                "ssh-agent message of {len} bytes is over the {limit}-byte limit"
            ),
            Self::Protocol(why) => write!(f, "unexpected answer from the ssh-agent: {why}"),
            Self::Refused => f.write_str("the ssh-agent refused the request"),
        }
    }
}

impl std::error::Error for AgentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unreachable { source, .. } | Self::Connect { source, .. } | Self::Io(source) => {
                Some(source)
            }
            _ => None,
        }
    }
}
