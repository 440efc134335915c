//! The agent's Unix socket: framing, peer credentials, who a connection
//! acts for, per-person budgets, dispatch.

mod acceptor;
mod admission;
mod budgets;
mod fd_limit;
mod frame_deadline;
mod handler;
mod login_person;
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
mod thread_bound;
mod user_names;
mod vanished_status;

pub use acceptor::{serve, Listeners};
pub use budgets::{
    Budgets, KEYLESS_PENDING, MAX_CONNECTIONS, PER_ACCOUNT_KEYLESS_PENDING, PER_PERSON_CONNECTIONS,
    PER_PERSON_PENDING, SYSTEM_CONNECTIONS, SYSTEM_PENDING,
};
pub use handler::{handle, status};
pub use login_person::{for_session as session_person, for_tap as tap_person};
pub use peer::{authorize, peer_from, Peer};
#[cfg(test)]
pub use person::pinned_real_uid_of;
pub use person::{at_accept as invoking_person, Person};
pub use server::{bind, bind_root, serve_connection, FIRST_FRAME_TIMEOUT, READ_TIMEOUT};
pub use socket_dir::check_socket_path;
pub use ssh_credential::SshCredential;
pub(crate) use user_names::{account_of, name_of_uid};
