//! The agent's shared state: configuration, policy, counters.

mod agent_state;
mod audit_trail;
mod bundle_install;
mod cache_load;
#[cfg(test)]
mod check_tests;
mod config_reload;
#[cfg(test)]
mod config_reload_tests;
mod file_copy;
#[cfg(test)]
mod file_copy_tests;
mod https_pull;
mod live;
mod manifest_sync;
#[cfg(test)]
mod manifest_sync_tests;
mod policy_store;
mod pull_turn;
#[cfg(test)]
mod pull_turn_tests;
mod pulled;
mod reload;
mod reloader;
mod source;
mod staleness;
#[cfg(test)]
mod staleness_flow_tests;
mod vanished_book;

pub use agent_state::{AgentState, Clock, Counters, SyncBook};
pub use cache_load::{initial_load, load_at_start};
pub use config_reload::{reload_config, ConfigReload};
pub use live::Live;
pub use policy_store::{PolicyStore, Provenance, RefusalRecord, StoreSnapshot};
pub use pull_turn::{Busy, BUSY_WAIT};
pub use reload::{reload_now, sync_now, sync_now_within, ReloadOutcome, SyncResult};
pub use reloader::spawn_reloader;
pub use source::{fingerprint, load_from_source, lost_at_restart, Fingerprint, BUILTIN_EXAMPLE};
pub use staleness::{freshness, judge, Freshness, Unusable};
pub use vanished_book::{
    forget_vanished_user, restore_vanished_users, VanishedBook, VANISHED_FILE,
};
