//! The agent client: checks who owns the socket, connects within the
//! deadline, and reads and writes frames that never wait past it.

mod connect;
mod deadline;
mod socket_check;
mod transport;

pub use connect::{connect, connect_as_caller, ConnectError};
pub use deadline::Deadline;
pub use transport::Connection;
