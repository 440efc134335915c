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
