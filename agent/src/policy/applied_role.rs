//! One role applied to one user and node: Teleport's `ApplyTraits` (trait
//! templates in logins and node_labels, invalid Unix logins dropped) and
//! `CheckLabelsMatch` (node_labels with node_labels_expression: allow needs
//! both when both are set, deny takes either; an expression that cannot be
//! evaluated fails closed), for `decide`.

use super::labels::{match_labels, LabelMatch, Labels};
use super::predicate::Env as ExpressionEnv;
use super::query::LoginQuery;
use super::resources::{Role, Traits};
use super::traits::{interpolate, is_valid_unix_user, TemplateError};

/// A role with the user's traits applied.
pub(super) struct AppliedRole<'b> {
    pub(super) role: &'b Role,
    /// The user's traits, for `node_labels_expression`.
    pub(super) traits: &'b Traits,
    pub(super) allow_logins: Vec<String>,
    pub(super) allow_labels: Labels,
    pub(super) deny_logins: Vec<String>,
    pub(super) deny_labels: Labels,
}

/// `role` with `traits` applied, noting in `reasons` what was dropped.
pub(super) fn apply_traits<'b>(
    role: &'b Role,
    traits: &'b Traits,
    reasons: &mut Vec<String>,
) -> AppliedRole<'b> {
    let mut t = TraitApplier {
        role: &role.name,
        traits,
        notes: reasons,
    };
    AppliedRole {
        role,
        traits,
        allow_logins: t.logins("allow logins", &role.allow.logins),
        allow_labels: t.labels("allow node_labels", &role.allow.node_labels),
        deny_logins: t.logins("deny logins", &role.deny.logins),
        deny_labels: t.labels("deny node_labels", &role.deny.node_labels),
    }
}

/// Expands templates for one role, noting what was dropped.
struct TraitApplier<'a> {
    role: &'a str,
    traits: &'a Traits,
    notes: &'a mut Vec<String>,
}

impl TraitApplier<'_> {
    fn note(&mut self, field: &str, e: &TemplateError) {
        let effect = match e {
            TemplateError::NoValue(_) => "dropped",
            TemplateError::Invalid(_) => "dropped (invalid template or unsupported variable)",
        };
        self.notes
            .push(format!("role {} {field}: {e}; {effect}", self.role));
    }

    fn values(&mut self, field: &str, list: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in list {
            match interpolate(v, self.traits) {
                Ok(expanded) => {
                    for x in expanded {
                        if !out.contains(&x) {
                            out.push(x);
                        }
                    }
                }
                Err(e) => self.note(field, &e),
            }
        }
        out
    }

    /// Teleport's `ApplyTraits` for logins: templates expanded, then logins
    /// that are not valid Unix user names dropped (`filterInvalidUnixLogins`),
    /// literals included.
    fn logins(&mut self, field: &str, list: &[String]) -> Vec<String> {
        let mut out = self.values(field, list);
        out.retain(|login| {
            let valid = is_valid_unix_user(login);
            if !valid {
                self.notes.push(format!(
                    "role {} {field}: {login:?} is not a valid Unix user name; dropped",
                    self.role
                ));
            }
            valid
        });
        out
    }

    /// Teleport's `applyLabelsTraits`: keys take their first value; a key or
    /// a value whose template fails becomes the empty string (an empty key
    /// no node has, so the selector cannot match).
    fn labels(&mut self, field: &str, selector: &Labels) -> Labels {
        let mut out = Labels::new();
        for (key, list) in selector {
            let key = match interpolate(key, self.traits) {
                Ok(keys) => keys.into_iter().next().unwrap_or_default(),
                Err(e) => {
                    self.note(&format!("{field} key"), &e);
                    String::new()
                }
            };
            let mut values: Vec<String> = Vec::new();
            for v in list {
                let expanded = match interpolate(v, self.traits) {
                    Ok(expanded) => expanded,
                    Err(e) => {
                        self.note(field, &e);
                        vec![String::new()]
                    }
                };
                for x in expanded {
                    if !values.contains(&x) {
                        values.push(x);
                    }
                }
            }
            out.insert(key, values);
        }
        out
    }
}

/// Why this role denies the login, if it does. Teleport's `CheckLabelsMatch`
/// for deny: the labels or the expression matching denies (either one). An
/// expression that cannot be evaluated denies, on either side: Teleport's
/// access check fails with the error (fail closed).
pub(super) fn deny_reason(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Option<String> {
    let name = &a.role.name;
    if !a.role.deny.no_namespace {
        if let Some(why) = deny_side_reason(a, q) {
            return Some(why);
        }
    }
    if a.role.allow.no_namespace {
        return None;
    }
    if let Some(expr) = &a.role.allow.node_labels_expression {
        if let Err(e) = expr.matches(&expression_env(a, q)) {
            return Some(format!(
                "role {name} allow node_labels_expression {:?} cannot be evaluated ({e}): the access check fails, denied to be safe",
                expr.source()
            ));
        }
    }
    // Teleport's `checkAccess` returns the error of an allow node_labels
    // value that cannot be evaluated (an invalid `^...$` regex), failing the
    // whole check rather than skipping the role.
    if let LabelMatch::Invalid(why) = match_labels(&a.allow_labels, &q.node.labels) {
        return Some(format!(
            "role {name} allow {why}: cannot be evaluated, the access check fails, denied to be safe"
        ));
    }
    None
}

/// The role's deny side: labels or expression (either), then logins.
/// Skipped by the caller when its `namespaces` are empty (Teleport's
/// `checkAccess` skips a role whose deny namespaces do not match).
fn deny_side_reason(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Option<String> {
    let name = &a.role.name;
    match match_labels(&a.deny_labels, &q.node.labels) {
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
    if let Some(expr) = &a.role.deny.node_labels_expression {
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

fn expression_env<'e>(a: &'e AppliedRole<'_>, q: &'e LoginQuery<'_>) -> ExpressionEnv<'e> {
    ExpressionEnv {
        labels: &q.node.labels,
        traits: a.traits,
    }
}

/// How this role allows the login, or why it does not. Teleport's
/// `CheckLabelsMatch` for allow: node_labels and node_labels_expression
/// must both match when both are set; one alone decides; neither matches
/// nothing.
pub(super) fn allow_check(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Result<String, String> {
    if a.role.allow.no_namespace {
        return Err("its allow namespaces are empty: it matches no node".to_owned());
    }
    let expression = a.role.allow.node_labels_expression.as_ref();
    let mut how = Vec::new();
    if !(a.allow_labels.is_empty() && expression.is_some()) {
        match match_labels(&a.allow_labels, &q.node.labels) {
            LabelMatch::Matched(h) => how.push(h),
            LabelMatch::NotMatched(why) => return Err(why),
            LabelMatch::Invalid(why) => return Err(format!("{why} (treated as no match)")),
        }
    }
    if let Some(expr) = expression {
        match expr.matches(&expression_env(a, q)) {
            Ok(true) => how.push(format!(
                "node_labels_expression {:?} matched",
                expr.source()
            )),
            Ok(false) => {
                return Err(format!(
                    "node_labels_expression {:?} did not match",
                    expr.source()
                ))
            }
            Err(e) => {
                return Err(format!(
                    "node_labels_expression {:?} cannot be evaluated ({e}): not allowed",
                    expr.source()
                ))
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
        });
    }
    Ok(how.join(" and "))
}
