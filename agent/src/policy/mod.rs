//! The policy engine: Teleport's `role`, `cluster_auth_preference`, `user`,
//! `lock`, `mfa_device` and `cert_authority` resources, and [`decide`], which
//! says whether one login on this node is allowed and what MFA it needs.
//!
//! ```no_run
//! use std::time::SystemTime;
//! use mfa_agent::policy::{self, LoginQuery, NodeInfo, ServiceClass};
//!
//! let bundle = policy::load_bundle_path("/etc/pam-mfa/policy.d".as_ref())?;
//! let node = NodeInfo { name: "prod3".into(), id: None, labels: [("env".into(), "prod".into())].into() };
//! let d = policy::decide(&bundle, &LoginQuery {
//!     node: &node, login: "jerry", user: None, class: ServiceClass::Ssh,
//!     mfa_device: None, now: SystemTime::now(), lock_view_stale: false,
//! });
//! println!("{:?} {} {:?}", d.access, d.requirement.name(), d.reasons);
//! # Ok::<(), policy::PolicyError>(())
//! ```
//!
//! Semantics follow Teleport exactly where hosts can (see `DESIGN.md`,
//! "Policy"): deny before allow; labels as `MatchLabels`; session MFA from the
//! cap or any allowing role; the hardware key policy from the cap and all of
//! the user's roles; `node_labels_expression` in Teleport's predicate
//! language (`predicate`), combined with `node_labels` as `CheckLabelsMatch`
//! does; locks as `ComputeLockTargets` + `LockTarget.Match` (any one field).
//! Where a host cannot evaluate something Teleport can (lock targets such as
//! `windows_desktop`), or an expression fails to evaluate, the engine fails
//! closed for deny and open for nothing.
//!
//! Files: [`load`](load_bundle_path) reads text into documents
//! (`documents`), each document into a resource (`resources`); `decide` uses
//! `labels`, `predicate`, `traits` and `locks`.

mod applied_role;
mod beside;
mod bundle;
mod by_name;
mod check_access;
mod decide;
mod documents;
mod email_address;
mod error;
mod go_lexer;
mod go_regex;
mod go_replace;
mod go_string;
mod index;
mod json_stream;
mod key_policy;
mod key_table;
mod label_traits;
mod labels;
mod limits;
mod load;
mod load_support;
mod lock_index;
mod locking_mode;
mod locks;
mod login_candidates;
mod login_state;
mod node_label_cache;
mod predicate;
mod prefetch;
mod query;
mod raw_documents;
mod regex_cache;
mod require_mfa;
mod requirement;
mod resolve;
mod resources;
mod role_facts;
mod role_positions;
mod role_prefetch;
mod session_terms;
mod template_parser;
mod traits;
mod vanished;
mod vanished_from;

#[cfg(test)]
mod tests;

pub use bundle::{Bundle, BundleParts};
pub use by_name::{ByName, Named};
pub use decide::{apply_locks, expired_certificate_ends};
pub use error::PolicyError;
pub(crate) use go_replace::replace_all_go;
pub use key_policy::KeyPolicy;
pub use labels::{match_value, LabelMatch, Labels};
pub use load::{
    load_bundle_argument, load_bundle_path, load_bundle_sources, load_bundle_str,
    read_bundle_texts, source_path_refusal, PathRule,
};
pub use locks::{find_lock, node_locks_elsewhere, unjudged_node_locks, LockHolder, LockSubject};
pub use predicate::{Env as ExpressionEnv, LabelExpression, PredicateError};
pub use query::{Access, Decision, LoginQuery, NodeInfo, ServiceClass};
pub use raw_documents::{raw_documents, RawDocument};
pub(crate) use regex_cache::cached_regex;
pub use require_mfa::RequireMfa;
pub use requirement::Requirement;
pub use resolve::{decide, decide_with_identity};
pub(crate) use resources::go_duration;
pub use resources::{
    join_token_sha256, AccountLimits, AllowedNode, AuthPreference, CertAuthority, CertificateFacts,
    DeviceKind, Lock, LockTarget, LoginStateOrigin, MfaDevice, NodeLimit, Role, RoleConditions,
    RoleMapping, TraitValues, Traits, User, WebauthnDevice, WebauthnForm, SSH_SK_KEY_TYPES,
};
pub use session_terms::{session_terms, SessionTerms};
pub use traits::{interpolate, TemplateError};
pub use vanished::{VanishedUser, VanishedUsers, MAX_VANISHED_USERS, VANISHED_USER_RETENTION};
pub use vanished_from::{personal_logins, users_gone, vanished_user_of};
