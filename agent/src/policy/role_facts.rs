//! What a decision asks of a role beside its logins and its labels, copied
//! out of the role's record into the small per-role outcome a bundle keeps
//! for its node ([`super::node_label_cache`]).
//!
//! A role's record is 248 bytes, several cache lines; on a large bundle
//! each one a decision touches is a cache miss. A role whose allow side
//! cannot match this node (most of a user's roles, on most nodes) is then
//! decided from its outcome alone: its record is read only for deny
//! logins, a node_labels_expression or a key policy it has.

use super::require_mfa::RequireMfa;
use super::resources::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RoleFacts {
    /// The allow node_labels take part in the allow check: they do unless
    /// they are empty and a node_labels_expression stands alone.
    pub(super) allow_labels_count: bool,
    /// The role has an allow node_labels_expression.
    pub(super) allow_expression: bool,
    /// The role has a deny node_labels_expression.
    pub(super) deny_expression: bool,
    /// The role has deny logins.
    pub(super) deny_logins: bool,
    /// `options.require_session_mfa`.
    pub(super) require_session_mfa: RequireMfa,
}

impl RoleFacts {
    pub(super) fn of(role: &Role) -> RoleFacts {
        let allow_expression = role.allow.node_labels_expression.is_some();
        RoleFacts {
            allow_labels_count: !(role.allow.node_labels.is_empty() && allow_expression),
            allow_expression,
            deny_expression: role.deny.node_labels_expression.is_some(),
            deny_logins: !role.deny.logins.is_empty(),
            require_session_mfa: role.require_session_mfa,
        }
    }
}
