//! The agent's Unix socket: framing, peer credentials, dispatch.

mod handler;
mod peer;
mod server;
mod workers;

pub use handler::{handle, status};
pub use peer::{authorize, peer_of, Peer};
pub use server::{bind, serve, serve_connection, READ_TIMEOUT};
pub use workers::{MAX_CONNECTIONS, PERSISTENT_WORKERS};
