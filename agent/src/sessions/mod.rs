//! Live login sessions: registered by the module's `open_session`, ended by
//! `close_session`, and ended by the agent when a lock or a policy change
//! takes their access away.

use crate::state::AgentState;

/// The sessions the agent tracks. (Filled in by the sessions work.)
#[derive(Default)]
pub struct SessionRegistry {}

/// Called after every policy install and every change of the lock view:
/// ends the live sessions the current policy no longer allows.
pub fn enforce(_state: &AgentState) {}
