//! Child processes with deadlines, and stopping process trees by PID.

mod run;
mod tree;
mod wait;

pub use run::{in_new_session, run_checked, run_with_timeout, Finished};
pub use tree::{descendants, kill_tree, pid_alive, processes_of_uid};
pub use wait::wait_until;
