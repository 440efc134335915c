//! One login on this node: Teleport's `RoleSet.checkAccess`, the per-session
//! MFA rule (`AccessState`) and the private key policy, plus locks.

use super::applied_role::{allow_check, apply_traits, deny_reason, AppliedRole};
use super::bundle::Bundle;
use super::key_policy::KeyPolicy;
use super::locks::LockSubject;
use super::query::{Access, Decision, LoginQuery, ServiceClass};
use super::require_mfa::RequireMfa;
use super::requirement::Requirement;
use super::resources::{Role, User};

/// Decides one login.
///
/// 1. Who: `q.user` when given (a registered key, a certificate, a tap).
///    Else the users the login maps to: those whose `logins` trait holds it
///    (or who are named like it) and, when the login is cluster-managed
///    (some role's allow `logins` name it, see [`Bundle::login_is_managed`]),
///    every user whose roles could give it. None and not managed: an
///    unknown user, allowed with the cluster's requirement (host
///    authentication applies). None but managed: denied. One user named by
///    the traits alone: decided for them. Otherwise each is evaluated
///    (`decide_several`): allowed when one is, with the strictest
///    requirement; the allowed ones are the decision's `candidates`.
/// 2. Deny first: a role whose deny `node_labels` match this node, or whose
///    deny `logins` hold the login, denies (whatever MFA is offered).
/// 3. A role allows when its allow `node_labels` match and the login is in its
///    allow `logins` (after trait templates). No allowing role: denied.
/// 4. Session MFA: the cap's, or any ALLOWING role's. Key policy: the
///    strictest over the cap and ALL of the user's roles. Admin actions: also
///    session MFA when the cap's second factor is WebAuthn only.
/// 5. A lock in force that matches denies.
pub fn decide(bundle: &Bundle, q: &LoginQuery<'_>) -> Decision {
    if let Some(name) = q.user {
        return match bundle.users().get(name) {
            Some(user) => decide_for_user(
                bundle,
                q,
                user,
                vec![format!(
                    "cluster user {name} was identified; logging in as {}",
                    q.login
                )],
            ),
            None => decide_unknown(bundle, q, Some(name)),
        };
    }
    let by_traits = bundle.users_for_login(q.login);
    let managed = bundle.login_is_managed(q.login);
    let mut people = by_traits.clone();
    if managed {
        people.extend(bundle.users_who_may_have_login(q.login));
        people.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        people.dedup_by(|a, b| a.name == b.name);
    }
    match people.as_slice() {
        [] if managed => decide_unclaimed(bundle, q),
        [] => decide_unknown(bundle, q, None),
        [user] if by_traits.len() == 1 => decide_for_user(
            bundle,
            q,
            user,
            vec![format!(
                "login {} maps to cluster user {}",
                q.login, user.name
            )],
        ),
        // The roles widened the set beyond the users the traits name.
        several => decide_several(bundle, q, several, several.len() > by_traits.len()),
    }
}

/// Decides for an identity that carries its own roles and traits (a verified
/// Teleport certificate), rather than the bundle's record of the user: the
/// certificate is what Teleport itself decides with.
pub fn decide_with_identity(bundle: &Bundle, q: &LoginQuery<'_>, identity: &User) -> Decision {
    decide_for_user(
        bundle,
        q,
        identity,
        vec![format!(
            "a Teleport certificate names cluster user {} with roles [{}]; logging in as {}",
            identity.name,
            identity.roles.join(", "),
            q.login
        )],
    )
}

/// A user the bundle does not know: no roles; the cluster's requirement.
fn decide_unknown(bundle: &Bundle, q: &LoginQuery<'_>, given: Option<&str>) -> Decision {
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

/// A cluster-managed login that no user could be given: some role names
/// it, but no user holds such a role (or has the traits it takes).
fn decide_unclaimed(bundle: &Bundle, q: &LoginQuery<'_>) -> Decision {
    let mut reasons = vec![format!(
        "login {} is cluster-managed (a role's allow logins name it) but no cluster user's roles give it: denied",
        q.login
    )];
    let requirement = cap_requirement(bundle, &mut reasons);
    Decision {
        access: Access::Deny,
        requirement,
        user: None,
        known_user: true,
        candidates: Vec::new(),
        roles: Vec::new(),
        locked: false,
        lock_message: None,
        reasons,
    }
}

/// A login that maps to several users, or a cluster-managed login whose
/// person is not known: allowed when one of them is; the strictest
/// requirement of those allowed applies; a lock on any of them who would
/// be allowed denies (the person could be them). The allowed and unlocked
/// ones are the candidates a tap may identify.
fn decide_several(bundle: &Bundle, q: &LoginQuery<'_>, users: &[&User], widened: bool) -> Decision {
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    let mut reasons = vec![if widened {
        format!(
            "login {} is cluster-managed (a role's allow logins name it) and who logs in is not known: the {} cluster user(s) whose roles could give it are each evaluated ({}), and the strictest requirement of those allowed applies",
            q.login,
            users.len(),
            names.join(", ")
        )
    } else {
        format!(
            "login {} maps to {} cluster users ({}); each is evaluated and the strictest requirement of those allowed applies",
            q.login,
            users.len(),
            names.join(", ")
        )
    }];
    let decisions: Vec<(&str, Decision)> = users
        .iter()
        .map(|u| (u.name.as_str(), decide_for_user(bundle, q, u, Vec::new())))
        .collect();
    for (name, d) in &decisions {
        reasons.extend(d.reasons.iter().map(|r| format!("{name}: {r}")));
    }
    let allowed: Vec<&(&str, Decision)> = decisions
        .iter()
        .filter(|(_, d)| d.access == Access::Allow)
        .collect();
    let mut decision = Decision {
        access: Access::Deny,
        requirement: Requirement::OFF,
        user: None,
        known_user: true,
        candidates: allowed.iter().map(|(n, _)| n.to_string()).collect(),
        roles: Vec::new(),
        locked: false,
        lock_message: None,
        reasons,
    };
    // A locked user counts when their roles would give the login here (a
    // candidate that could never log in here is no reason to deny).
    let lock = decisions
        .iter()
        .find(|(_, d)| d.locked && (!widened || !d.roles.is_empty()));
    if let Some((name, locked)) = lock {
        decision.locked = true;
        decision.lock_message = locked.lock_message.clone();
        decision.requirement = strictest(decisions.iter().map(|(_, d)| d));
        decision.reasons.push(format!(
            "a lock holds {name}, one of the users login {} maps to: access denied",
            q.login
        ));
    } else if allowed.is_empty() {
        decision.requirement = strictest(decisions.iter().map(|(_, d)| d));
        decision.reasons.push(format!(
            "none of {} may log in as {} on {}",
            names.join(", "),
            q.login,
            q.node.name
        ));
    } else {
        decision.access = Access::Allow;
        decision.requirement = strictest(allowed.iter().map(|(_, d)| d));
        for (_, d) in &allowed {
            for role in &d.roles {
                if !decision.roles.contains(role) {
                    decision.roles.push(role.clone());
                }
            }
        }
        let allowed_names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
        decision.reasons.push(format!(
            "allowed for {}; the strictest requirement applies: {}",
            allowed_names.join(", "),
            decision.requirement.name()
        ));
    }
    decision
}

/// The requirement that satisfies all of these decisions.
fn strictest<'d>(decisions: impl Iterator<Item = &'d Decision>) -> Requirement {
    decisions.fold(Requirement::OFF, |acc, d| acc.combine(d.requirement))
}

fn decide_for_user(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    mut reasons: Vec<String>,
) -> Decision {
    // The user's roles that exist in the bundle, each once. A role that is
    // missing denies: Teleport's `FetchRoleList` (lib/services/role.go)
    // fails when one of the user's roles cannot be fetched, so no access
    // checker is built and the login is refused; the missing role could
    // hold deny rules or require MFA.
    let mut roles: Vec<&Role> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    for name in &user.roles {
        match bundle.roles().get(name) {
            Some(role) if !roles.iter().any(|r| r.name == role.name) => roles.push(role),
            Some(_) => {}
            None => missing.push(name),
        }
    }
    let applied: Vec<AppliedRole<'_>> = roles
        .iter()
        .map(|role| apply_traits(role, &user.traits, &mut reasons))
        .collect();

    // Deny first; deny never looks at MFA.
    let denial = match missing.as_slice() {
        [] => applied.iter().find_map(|a| deny_reason(a, q)),
        names => Some(format!(
            "role(s) {} of {} not in the bundle: Teleport cannot load the user's roles (FetchRoleList fails), so access is denied",
            names.join(", "),
            user.name
        )),
    };

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
fn cap_requirement(bundle: &Bundle, reasons: &mut Vec<String>) -> Requirement {
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
        node_id: q.node.id.as_deref(),
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
        let held_by = lock
            .matched_field(&subject)
            .map(|f| format!("; it holds this login by {f}"))
            .unwrap_or_default();
        decision.reasons.push(format!(
            "lock {} ({}) is in force{held_by}: access denied{message}",
            lock.name,
            lock.target.describe()
        ));
    }
}
