//! pam-mfa's agent: policy, decisions, the socket the PAM module talks to,
//! and the pieces of `mfactl`.

pub mod attached;
pub mod audit;
pub mod challenge;
pub mod config;
pub mod ctl;
pub mod fido2;
pub mod heap;
pub mod host_accounts;
pub mod ipc;
pub mod login;
pub mod name_list;
pub mod notify;
pub mod piv;
pub mod policy;
pub mod sessions;
pub mod ssh_agent;
pub mod state;
pub mod sync;
pub mod trusted_dir;
pub mod utc_time;
pub mod verify;

/// What the fuzz targets (fuzz/, built by cargo-fuzz, which sets
/// `--cfg fuzzing`) reach that is not otherwise public: `mfactl tap`'s
/// reading of a prompt and the agent's packing of its credential ids.
/// Not an API; absent from every other build.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_access {
    pub use crate::ctl::tap::{prompt_credential_ids, prompt_missing_ids};
    pub use crate::login::pack_credential_ids_for_fuzzing;
}
pub mod web_assets;
