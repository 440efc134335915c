//! The agent's shared state: configuration, policy, counters.

mod agent_state;
mod policy_store;
mod reload;
mod source;

pub use agent_state::{AgentState, Clock, Counters};
pub use policy_store::{PolicyStore, StoreSnapshot};
pub use reload::{reload_now, spawn_reloader, ReloadOutcome};
pub use source::{fingerprint, load_from_source, Fingerprint, BUILTIN_EXAMPLE};
