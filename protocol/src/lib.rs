//! The module ↔ agent protocol of pam-mfa.
//!
//! A Unix stream socket carries frames: a 4-byte big-endian length followed by
//! one JSON message of at most [`MAX_FRAME`] bytes. Every message carries the
//! protocol version `v`. The agent drives the conversation: the module sends
//! [`Request::Begin`], the agent answers with an [`Response`] step, the module
//! replies with [`Request::Answer`] or [`Request::Poll`] until the agent says
//! allow, deny, unavailable or error.
//!
//! This crate must stay small: no async runtime, no HTTP, no crypto. It is
//! linked into `pam_mfa.so`, which runs inside sshd and sudo.

mod frame;
mod inbox;
mod messages;
mod sessions;
mod sync;

pub use frame::{read_frame, write_frame, FrameError};
pub use inbox::FrameInbox;
pub use messages::*;
pub use sessions::SessionInfo;
pub use sync::{ManifestStatus, SyncReport, SyncStatus};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame body accepted or sent, in bytes.
pub const MAX_FRAME: usize = 64 * 1024;

/// Where the agent listens unless configured otherwise.
pub const DEFAULT_SOCKET: &str = "/run/pam-mfa/agent.sock";

/// Longest socket path `sockaddr_un` holds (108 bytes with the NUL): the
/// module and the agent judge paths, the root socket's too, by this one.
pub const MAX_SOCKET_PATH: usize = 107;

/// What the agent's second socket, the one only root may connect to, adds
/// to the public socket's path.
pub const ROOT_SOCKET_SUFFIX: &str = ".root";

/// The socket beside `public` that only root may connect to
/// (`/run/pam-mfa/agent.sock.root`): pam_mfa.so running as root (sshd,
/// sudo, su, login) connects there first, so that no local user can fill
/// the listen queue it waits in.
pub fn root_socket_path(public: &std::path::Path) -> std::path::PathBuf {
    let mut path = public.as_os_str().to_owned();
    path.push(ROOT_SOCKET_SUFFIX);
    path.into()
}

#[cfg(test)]
mod root_socket_tests {
    #[test]
    fn the_root_socket_is_beside_the_public_one() {
        let p = super::root_socket_path(std::path::Path::new("/run/pam-mfa/agent.sock"));
        assert_eq!(p, std::path::Path::new("/run/pam-mfa/agent.sock.root"));
    }
}
