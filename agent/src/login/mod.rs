//! One login: identity, evidence, requirement, verdict.

mod answer_origin;
mod auth_info;
mod authorized_keys_file;
mod authorized_keys_line;
mod conversation;
mod evidence;
mod explain;
mod flow;
#[cfg(test)]
mod flow_tests;
mod grants;
mod key_credit;
mod local_tap;
#[cfg(test)]
mod local_tap_tests;
mod recorded_auth;
mod reuse;
mod served_keys;
mod served_lines;
mod session_hooks;
#[cfg(test)]
mod session_hooks_tests;

pub use auth_info::{accepted_keys, AcceptedKey};
pub use conversation::{answer, cancel, Conversation, Step};
pub use evidence::{check, KeyClass};
pub use explain::explain;
pub use flow::{handle_begin, policy_login, service_class, PeerIds};
pub use grants::{parent_pid, Granted, Grants};
pub use local_tap::{poll, TAP_CUE};
pub use recorded_auth::RecordedAuthInfo;
pub use reuse::{ReuseCache, Reused};
pub use served_keys::ServedKeys;
pub use served_lines::{lines_for_login, ServedLine};
