//! The agent's Unix socket: framing, peer credentials, dispatch.

mod handler;
mod peer;
mod server;

pub use handler::{handle, status};
pub use peer::{authorize, peer_of, Peer};
pub use server::{bind, serve, serve_connection, MAX_CONNECTIONS, READ_TIMEOUT};
