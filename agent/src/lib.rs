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
pub mod web_assets;
