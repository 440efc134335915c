//! One login of one cluster user on this node: Teleport's
//! `RoleSet.checkAccess`, the per-session MFA rule (`AccessState`) and the
//! private key policy, plus locks. Who the decision is for is `resolve`'s.

use std::collections::BTreeMap;

use super::bundle::Bundle;
use super::key_policy::KeyPolicy;
use super::labels::{match_labels, LabelMatch, Labels};
use super::locks::LockSubject;
use super::query::{Access, Decision, LoginQuery, ServiceClass};
use super::require_mfa::RequireMfa;
use super::requirement::Requirement;
use super::resources::{Role, User};
use super::traits::{interpolate, TemplateError};

/// A user the bundle does not know: no roles; the cluster's requirement.
pub(super) fn decide_unknown(bundle: &Bundle, q: &LoginQuery<'_>, given: Option<&str>) -> Decision {
    let mut reasons = vec![match given {
        Some(name) => format!(
            "cluster user {name} is not in the bundle: no roles apply, only the cluster's requirement"
        ),
        None => format!(
            "login {} maps to no cluster user: host authentication applies, with the cluster's requirement",
            q.login
        ),
    }];
    let requirement = cap_requirement(bundle, &mut reasons);
    let requirement = admin_rule(bundle, q.class, requirement, &mut reasons);
    reasons.push(format!("requirement: {}", requirement.name()));
    let mut decision = Decision {
        access: Access::Allow,
        requirement,
        user: given.map(str::to_owned),
        known_user: false,
        candidates: Vec::new(),
        roles: Vec::new(),
        locked: false,
        lock_message: None,
        reasons,
    };
    apply_locks(bundle, q, given, &[], &mut decision);
    decision
}

/// A role with the user's traits applied.
struct AppliedRole<'b> {
    role: &'b Role,
    allow_logins: Vec<String>,
    allow_labels: Labels,
    deny_logins: Vec<String>,
    deny_labels: Labels,
}

pub(super) fn decide_for_user(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    mut reasons: Vec<String>,
) -> Decision {
    // The user's roles that exist in the bundle, each once.
    let mut roles: Vec<&Role> = Vec::new();
    for name in &user.roles {
        match bundle.roles().get(name) {
            Some(role) if !roles.iter().any(|r| r.name == role.name) => roles.push(role),
            Some(_) => {}
            None => reasons.push(format!(
                "role {name} of {} is not in the bundle; skipped",
                user.name
            )),
        }
    }
    let applied: Vec<AppliedRole<'_>> = roles
        .iter()
        .map(|role| apply_traits(role, &user.traits, &mut reasons))
        .collect();

    // Deny first; deny never looks at MFA.
    let denial = applied.iter().find_map(|a| deny_reason(a, q));

    // Then allow.
    let mut allowing: Vec<&AppliedRole<'_>> = Vec::new();
    let mut misses: Vec<String> = Vec::new();
    if denial.is_none() {
        for a in &applied {
            match allow_check(a, q) {
                Ok(how) => {
                    reasons.push(format!(
                        "role {} allows login {} on {} ({how}) and {}",
                        a.role.name,
                        q.login,
                        q.node.name,
                        requires_phrase(a.role.require_session_mfa)
                    ));
                    allowing.push(a);
                }
                Err(why) => misses.push(format!("{}: {why}", a.role.name)),
            }
        }
    }

    // Requirement: the cap, the allowing roles' session MFA, and the key
    // policy of all roles.
    let mut requirement = cap_requirement(bundle, &mut reasons);
    for a in &allowing {
        requirement.session |= a.role.require_session_mfa.is_session_required();
    }
    let mut key_sources = Vec::new();
    for role in &roles {
        let policy = role.require_session_mfa.key_policy();
        if policy != KeyPolicy::None {
            key_sources.push(format!("role {}: {policy}", role.name));
            requirement.key_policy = requirement.key_policy.strictest(policy);
        }
    }
    if !key_sources.is_empty() {
        reasons.push(format!(
            "hardware key policy {} applies to every login of {} (from {}; it counts even for roles that do not allow this login)",
            requirement.key_policy,
            user.name,
            key_sources.join(", ")
        ));
    }
    let requirement = admin_rule(bundle, q.class, requirement, &mut reasons);

    let access = match denial {
        Some(why) => {
            reasons.push(why);
            Access::Deny
        }
        None if allowing.is_empty() => {
            let detail = if roles.is_empty() {
                format!("{} has no roles in the bundle", user.name)
            } else {
                misses.join("; ")
            };
            reasons.push(format!(
                "no role of {} allows login {} on {} ({detail})",
                user.name, q.login, q.node.name
            ));
            Access::Deny
        }
        None => {
            reasons.push(format!("requirement: {}", requirement.name()));
            Access::Allow
        }
    };

    let mut decision = Decision {
        access,
        requirement,
        user: Some(user.name.clone()),
        known_user: true,
        candidates: Vec::new(),
        roles: allowing.iter().map(|a| a.role.name.clone()).collect(),
        locked: false,
        lock_message: None,
        reasons,
    };
    apply_locks(bundle, q, Some(&user.name), &user.roles, &mut decision);
    decision
}

fn requires_phrase(value: RequireMfa) -> String {
    match value {
        RequireMfa::Off => "does not require session MFA".to_owned(),
        RequireMfa::Session => "requires session MFA".to_owned(),
        other => format!("requires session MFA with {other}"),
    }
}

/// The cluster-wide part of the requirement.
pub(super) fn cap_requirement(bundle: &Bundle, reasons: &mut Vec<String>) -> Requirement {
    let value = bundle.cap.require_session_mfa;
    reasons.push(format!(
        "cluster_auth_preference require_session_mfa is {value}"
    ));
    Requirement::from_require_mfa(value)
}

/// Teleport's MFA for administrative actions.
fn admin_rule(
    bundle: &Bundle,
    class: ServiceClass,
    mut requirement: Requirement,
    reasons: &mut Vec<String>,
) -> Requirement {
    if class == ServiceClass::Admin && bundle.cap.admin_actions_require_mfa() {
        requirement.session = true;
        reasons.push(
            "admin actions require MFA: the cluster's second factor is WebAuthn only".to_owned(),
        );
    }
    requirement
}

fn apply_traits<'b>(
    role: &'b Role,
    traits: &BTreeMap<String, Vec<String>>,
    reasons: &mut Vec<String>,
) -> AppliedRole<'b> {
    let mut t = TraitApplier {
        role: &role.name,
        traits,
        notes: reasons,
    };
    AppliedRole {
        role,
        allow_logins: t.values("allow logins", &role.allow.logins),
        allow_labels: t.labels("allow node_labels", &role.allow.node_labels),
        deny_logins: t.values("deny logins", &role.deny.logins),
        deny_labels: t.labels("deny node_labels", &role.deny.node_labels),
    }
}

/// Expands templates for one role, noting what was dropped.
struct TraitApplier<'a> {
    role: &'a str,
    traits: &'a BTreeMap<String, Vec<String>>,
    notes: &'a mut Vec<String>,
}

impl TraitApplier<'_> {
    fn note(&mut self, field: &str, e: &TemplateError) {
        let effect = match e {
            TemplateError::NoValue(_) => "dropped",
            TemplateError::Invalid(_) => "dropped (invalid template)",
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

    /// Keys take their first value; a key that yields none becomes the empty
    /// key, which no node has, so the selector cannot match (as in Teleport).
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
            let values = self.values(field, list);
            out.insert(key, values);
        }
        out
    }
}

/// Why this role denies the login, if it does.
fn deny_reason(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Option<String> {
    let name = &a.role.name;
    if a.role.deny.node_labels_expression.is_some() {
        return Some(format!(
            "role {name} has a deny node_labels_expression, which hosts do not evaluate: denied to be safe"
        ));
    }
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
    if a.deny_logins.iter().any(|l| l == q.login) {
        return Some(format!(
            "role {name} denies login {} (it is in the role's deny logins)",
            q.login
        ));
    }
    None
}

/// How this role allows the login, or why it does not.
fn allow_check(a: &AppliedRole<'_>, q: &LoginQuery<'_>) -> Result<String, String> {
    if a.role.allow.node_labels_expression.is_some() {
        return Err(
            "its node_labels_expression is not evaluated on hosts, so it allows nothing".to_owned(),
        );
    }
    let how = match match_labels(&a.allow_labels, &q.node.labels) {
        LabelMatch::Matched(how) => how,
        LabelMatch::NotMatched(why) => return Err(why),
        LabelMatch::Invalid(why) => return Err(format!("{why} (treated as no match)")),
    };
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
    Ok(how)
}

/// A matching lock in force denies.
fn apply_locks(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: Option<&str>,
    roles: &[String],
    decision: &mut Decision,
) {
    let subject = LockSubject {
        user,
        roles,
        login: q.login,
        node: &q.node.name,
        mfa_device: q.mfa_device,
    };
    if let Some(lock) = bundle.find_lock(&subject, q.now) {
        decision.access = Access::Deny;
        decision.locked = true;
        decision.lock_message = lock.message.clone();
        let message = lock
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        decision.reasons.push(format!(
            "lock {} ({}) is in force: access denied{message}",
            lock.name,
            lock.target.describe()
        ));
    }
}
