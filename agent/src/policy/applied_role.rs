//! One role applied to one user and node: Teleport's `ApplyTraits` (trait
//! templates in logins and node_labels, invalid Unix logins dropped) and
//! `CheckLabelsMatch` (node_labels with node_labels_expression: allow needs
//! both when both are set, deny takes either; an expression that cannot be
//! evaluated fails closed), for `decide`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::label_traits::{apply_label_traits, template_note};
use super::labels::{match_applied, LabelMatch, Labels, Side};
use super::node_label_cache::RoleLabels;
use super::predicate::{Env as ExpressionEnv, LabelExpression};
use super::query::LoginQuery;
use super::resources::{Role, Traits};
use super::role_facts::RoleFacts;
use super::traits::{interpolate, is_valid_unix_user};

/// A role with the user's traits applied, its node_labels matched against
/// the node.
pub(super) struct AppliedRole<'b> {
    pub(super) role: &'b Role,
    /// What else is asked of the role, read from its node outcome when
    /// known (its record is cold memory on a large bundle).
    pub(super) facts: RoleFacts,
    /// The user's traits, for `node_labels_expression`.
    pub(super) traits: &'b Traits,
    pub(super) allow_logins: Vec<String>,
    /// The allow node_labels (traits applied) against the node.
    pub(super) allow_labels: Cow<'b, LabelMatch>,
    pub(super) deny_logins: Vec<String>,
    /// The deny node_labels (traits applied) against the node.
    pub(super) deny_labels: Cow<'b, LabelMatch>,
}

/// `role` with `traits` applied and its labels matched against `node`,
/// noting in `reasons` what was dropped. `known` holds what the role's
/// literal selectors give on this node, worked out before (a side that is
/// `None` there, or no `known` at all, is matched here).
pub(super) fn apply_traits<'b>(
    role: &'b Role,
    traits: &'b Traits,
    node: &BTreeMap<String, String>,
    known: Option<&'b RoleLabels>,
    reasons: &mut Vec<String>,
) -> AppliedRole<'b> {
    let name = &role.name;
    let labels = |side: Side,
                  selector: &Labels,
                  known: Option<&'b LabelMatch>,
                  notes: &mut Vec<String>| match known {
        Some(outcome) => Cow::Borrowed(outcome),
        None => Cow::Owned(match_applied(
            &apply_label_traits(name, side, selector, traits, notes),
            node,
            side,
        )),
    };
    let facts = known.map_or_else(|| RoleFacts::of(role), |k| k.facts);
    // In the order Teleport applies them, so the notes read in that order.
    let known_allow = known.and_then(|k| k.allow.as_ref());
    let allow_logins = if allow_side_never_matches(&facts, known_allow) {
        // `allow_check` refuses on the labels before it reads the logins:
        // leave them unread (on a large bundle, cold memory).
        Vec::new()
    } else {
        expand_logins(name, "allow logins", &role.allow.logins, traits, reasons)
    };
    let allow_labels = labels(Side::Allow, &role.allow.node_labels, known_allow, reasons);
    let deny_logins = if facts.deny_logins {
        expand_logins(name, "deny logins", &role.deny.logins, traits, reasons)
    } else {
        Vec::new()
    };
    let deny_labels = labels(
        Side::Deny,
        &role.deny.node_labels,
        known.and_then(|k| k.deny.as_ref()),
        reasons,
    );
    AppliedRole {
        role,
        facts,
        traits,
        allow_logins,
        allow_labels,
        deny_logins,
        deny_labels,
    }
}

/// Whether the role's literal allow node_labels are known not to match this
/// node and decide the allow side alone (they are not left out for a
/// node_labels_expression): then no login of the role is allowed here,
/// whatever its logins expand to (see `allow_check`).
pub(super) fn allow_side_never_matches(facts: &RoleFacts, known: Option<&LabelMatch>) -> bool {
    facts.allow_labels_count && matches!(known, Some(LabelMatch::NotMatched(_)))
}

/// Teleport's `ApplyTraits` for logins: templates expanded (each login kept
/// once), then logins that are not valid Unix user names dropped
/// (`filterInvalidUnixLogins`), literals included; what was dropped is
/// noted in `notes`.
fn expand_logins(
    role: &str,
    field: &str,
    list: &[String],
    traits: &Traits,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in list {
        match interpolate(v, traits) {
            Ok(expanded) => {
                for x in expanded {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
            }
            Err(e) => notes.push(template_note(role, field, &e)),
        }
    }
    out.retain(|login| {
        let valid = is_valid_unix_user(login);
        if !valid {
            notes.push(format!(
                "role {role} {field}: {login:?} is not a valid Unix user name; dropped"
            ));
        }
        valid
    });
    out
}

/// What of this role's allow side cannot be evaluated, if anything (the
/// role's name first). Teleport's `checkAccess` returns the error of an
/// allow `node_labels_expression` or `node_labels` value (an invalid
/// `^...$` regex) that cannot be evaluated, failing the whole check rather
/// than skipping the role (fail closed), at every role its allow loop
/// reaches (see `check_access`).
pub(super) fn allow_error(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Option<String> {
    let name = &a.role.name;
    if let Some(expr) = allow_expression(a) {
        if let Err(e) = expr.matches(&expression_env(a, q)) {
            return Some(format!(
                "role {name} allow node_labels_expression {:?} cannot be evaluated ({e})",
                expr.source()
            ));
        }
    }
    if let LabelMatch::Invalid(why) = &*a.allow_labels {
        return Some(format!("role {name} allow {why}: cannot be evaluated"));
    }
    None
}

/// Why the role's deny side denies the login, if it does. Teleport's
/// `CheckLabelsMatch` for deny: the labels or the expression matching
/// denies (either one), as do the deny logins; an expression or a value
/// that cannot be evaluated denies too (fail closed).
pub(super) fn deny_side_reason(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Option<String> {
    let name = &a.role.name;
    match &*a.deny_labels {
        LabelMatch::Matched(how) => {
            return Some(format!(
                "role {name} denies access to {} (deny {how})",
                q.node.name
            ))
        }
        LabelMatch::Invalid(why) => {
            return Some(format!(
                "role {name} deny {why}: cannot be evaluated, denied to be safe"
            ))
        }
        LabelMatch::NotMatched(_) => {}
    }
    // The record is read only when the role has one (not eagerly, as
    // `then_some` would).
    let deny_expression = if a.facts.deny_expression {
        a.role.deny.node_labels_expression.as_deref()
    } else {
        None
    };
    if let Some(expr) = deny_expression {
        match expr.matches(&expression_env(a, q)) {
            Ok(true) => {
                return Some(format!(
                    "role {name} denies access to {} (deny node_labels_expression {:?} matched)",
                    q.node.name,
                    expr.source()
                ))
            }
            Ok(false) => {}
            Err(e) => {
                return Some(format!(
                    "role {name} deny node_labels_expression {:?} cannot be evaluated ({e}): denied to be safe",
                    expr.source()
                ))
            }
        }
    }
    if a.deny_logins.iter().any(|l| l == q.login) {
        return Some(format!(
            "role {name} denies login {} (it is in the role's deny logins)",
            q.login
        ));
    }
    None
}

/// The role's allow node_labels_expression (its record is read only when
/// it has one).
fn allow_expression<'a>(a: &AppliedRole<'a>) -> Option<&'a LabelExpression> {
    if a.facts.allow_expression {
        a.role.allow.node_labels_expression.as_deref()
    } else {
        None
    }
}

fn expression_env<'e>(a: &'e AppliedRole<'_>, q: &'e LoginQuery<'_>) -> ExpressionEnv<'e> {
    ExpressionEnv {
        labels: &q.node.labels,
        traits: a.traits,
    }
}

/// How this role allows the login, or why it does not. Teleport's
/// `CheckLabelsMatch` for allow: node_labels and node_labels_expression
/// must both match when both are set; one alone decides; neither matches
/// nothing. Why not is borrowed when it can be: most callers only ask
/// whether, and on a large bundle the text is a cache miss.
pub(super) fn allow_check<'a>(
    a: &'a AppliedRole<'_>,
    q: &LoginQuery<'_>,
) -> Result<String, Cow<'a, str>> {
    let expression = allow_expression(a);
    let mut how = Vec::new();
    if a.facts.allow_labels_count {
        match &*a.allow_labels {
            LabelMatch::Matched(h) => how.push(h.clone()),
            LabelMatch::NotMatched(why) => return Err(Cow::Borrowed(why)),
            LabelMatch::Invalid(why) => return Err(format!("{why} (treated as no match)").into()),
        }
    }
    if let Some(expr) = expression {
        match expr.matches(&expression_env(a, q)) {
            Ok(true) => how.push(format!(
                "node_labels_expression {:?} matched",
                expr.source()
            )),
            Ok(false) => {
                return Err(
                    format!("node_labels_expression {:?} did not match", expr.source()).into(),
                )
            }
            Err(e) => {
                return Err(format!(
                    "node_labels_expression {:?} cannot be evaluated ({e}): not allowed",
                    expr.source()
                )
                .into())
            }
        }
    }
    if !a.allow_logins.iter().any(|l| l == q.login) {
        return Err(if a.allow_logins.is_empty() {
            format!("login {} is not allowed: the role has no logins", q.login)
        } else {
            format!(
                "login {} is not in its logins [{}]",
                q.login,
                a.allow_logins.join(", ")
            )
        }
        .into());
    }
    Ok(how.join(" and "))
}
