//! One login: identity, evidence, requirement, verdict.

mod answer_origin;
mod approval_link;
#[cfg(test)]
mod approval_link_tests;
mod ask;
#[cfg(test)]
mod audit_limit_tests;
mod auth_info;
mod authorized_keys_changes;
mod authorized_keys_file;
mod authorized_keys_line;
#[cfg(test)]
mod backup_eligible_tests;
#[cfg(test)]
mod cert_key_policy_tests;
#[cfg(test)]
mod challenge_flow_tests;
mod conversation;
mod evidence;
mod explain;
#[cfg(test)]
mod explain_tests;
mod flow;
#[cfg(test)]
mod flow_tests;
mod forwarded_agent;
#[cfg(test)]
mod forwarded_agent_tests;
mod grants;
mod key_credit;
#[cfg(test)]
mod key_credit_tests;
mod key_rules;
mod local_tap;
mod local_tap_fido;
#[cfg(test)]
mod local_tap_fixture;
#[cfg(test)]
mod local_tap_pin_tests;
mod local_tap_piv;
#[cfg(test)]
mod local_tap_ssh_session_tests;
mod local_tap_state;
#[cfg(test)]
mod local_tap_tests;
mod login_key;
mod may_wait;
#[cfg(test)]
mod may_wait_tests;
#[cfg(test)]
mod nobody_can_tap_tests;
mod opening;
mod pipeline;
#[cfg(test)]
mod piv_flow_tests;
mod policy_login;
#[cfg(test)]
mod policy_login_tests;
mod prompt_packing;
#[cfg(test)]
mod prompt_packing_tests;
mod recorded_auth;
mod remote_cluster;
mod required;
#[cfg(test)]
mod resource_request_tests;
mod reuse;
#[cfg(test)]
mod reuse_flow_tests;
mod satisfy;
mod served_keys;
mod served_keys_table;
#[cfg(test)]
mod served_keys_tests;
mod served_lines;
mod session_hooks;
#[cfg(test)]
mod session_hooks_tests;
#[cfg(test)]
mod shared_credential_tests;
#[cfg(test)]
mod shared_login_tests;
mod sshd_connection;
mod tap;
mod tap_credential;
mod tap_match;
mod tap_prompt;
mod tap_verify;
#[cfg(test)]
mod teleport_device_tests;
#[cfg(test)]
mod user_cert_keys;
#[cfg(test)]
mod user_process;
mod verdict;
mod who;

pub use approval_link::approval_status;
pub use auth_info::{accepted_keys, AcceptedKey};
pub use authorized_keys_changes::KeyFilesState;
pub use authorized_keys_file::{find_key, UserFileVerdict};
pub use conversation::{answer, cancel, poll};
pub use evidence::{check, KeyClass};
pub use explain::{explain, nobody_can_tap, NOBODY_CAN_TAP};
pub use flow::handle_begin;
pub use grants::{parent_pid, Granted, Grants};
pub use key_credit::key_files_state;
pub use local_tap::TAP_CUE;
pub use may_wait::MayWait;
pub use opening::service_class;
pub use policy_login::policy_login;
#[cfg(fuzzing)]
pub use prompt_packing::pack_credential_ids_for_fuzzing;
pub use recorded_auth::RecordedAuthInfo;
pub use reuse::{ConnectionKey, ReuseCache, Reused};
pub use served_keys::ServedKeys;
pub use served_lines::{lines_for_login, ServedLine};
pub use sshd_connection::connection_of_keys_command;
pub use tap::{Conversation, Step};
pub use verdict::PeerIds;
