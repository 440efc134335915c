//! The agent's Unix socket: framing, peer credentials, who a connection
//! acts for, per-person budgets, dispatch.

mod acceptor;
mod budgets;
mod fd_limit;
mod frame_deadline;
mod handler;
mod peer;
mod person;
mod pidfd;
mod pool;
mod redact;
mod server;
mod shared;
mod socket_dir;
mod ssh_credential;
mod subuid;

pub use acceptor::serve;
pub use budgets::{
    Budgets, MAX_CONNECTIONS, PER_PERSON_CONNECTIONS, PER_PERSON_PENDING, SYSTEM_CONNECTIONS,
};
pub use handler::{handle, status};
pub use peer::{authorize, peer_from, Peer};
#[cfg(test)]
pub use person::pinned_real_uid_of;
pub use person::{at_accept as invoking_person, for_tap as tap_person, Person};
pub use server::{bind, serve_connection, FIRST_FRAME_TIMEOUT, READ_TIMEOUT};
pub use ssh_credential::SshCredential;
