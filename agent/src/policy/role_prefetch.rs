//! The memory a decision reads about a user's roles, asked of the CPU
//! before `decide` reads it, role by role.
//!
//! On a large bundle each of these reads is a cache miss, and each is found
//! through the one before: a role's outcome on the node and its record,
//! then the text of a matched selector, its name and the list of its
//! logins, then the logins themselves. Read one role at a time, that is
//! about five misses in a row per role; here the reads of one step are
//! made for all of the user's roles at once, so each step costs about one
//! miss whatever the number of roles. What the decision reads does not
//! change (see [`super::prefetch`]).

use std::collections::BTreeMap;

use super::applied_role::allow_side_never_matches;
use super::bundle::Bundle;
use super::labels::LabelMatch;
use super::node_label_cache::RoleLabels;
use super::prefetch::{prefetch, prefetch_first};
use super::resources::Role;

/// How many of a role's allow logins are asked about ahead.
const LOGINS_AT_MOST: usize = 4;

/// Each of `roles`' outcomes on a node with `node` labels
/// ([`Bundle::role_labels_on`]), in order, with what deciding the roles
/// reads next asked of the CPU a step at a time (each step's lines
/// arriving side by side).
pub(super) fn role_outcomes<'b>(
    bundle: &'b Bundle,
    roles: &[&'b Role],
    node: &BTreeMap<String, String>,
) -> Vec<Option<&'b RoleLabels>> {
    // Each role's outcome on the node, and its record's lines that hold
    // its name and its logins.
    for role in roles {
        bundle.prefetch_role_labels(role);
        prefetch(&role.name);
        prefetch(&role.allow.logins);
    }
    // What those point at, for a role whose allow side may match here
    // (`apply_traits` reads its logins): the text of a matched allow
    // selector (copied into the decision), the name, the list of logins,
    // the rest of the record (`device_trust_denial` reads an allowing
    // role's device_trust_mode, say).
    let outcomes: Vec<Option<&RoleLabels>> = roles
        .iter()
        .map(|role| {
            let known = bundle.role_labels_on(role, node);
            let allow = known.and_then(|k| k.allow.as_ref());
            if let Some(LabelMatch::Matched(how)) = allow {
                prefetch(how.as_str());
            }
            if may_allow(known) {
                prefetch(*role);
                prefetch(role.name.as_str());
                prefetch_first(&role.allow.logins);
            }
            known
        })
        .collect();
    // The logins themselves.
    for (role, known) in roles.iter().zip(&outcomes) {
        if may_allow(*known) {
            for login in role.allow.logins.iter().take(LOGINS_AT_MOST) {
                prefetch(login.as_str());
            }
        }
    }
    outcomes
}

/// Whether a role with this outcome on the node may allow a login there,
/// as far as it tells (the rule `apply_traits` uses).
fn may_allow(known: Option<&RoleLabels>) -> bool {
    !known.is_some_and(|k| allow_side_never_matches(&k.facts, k.allow.as_ref()))
}
