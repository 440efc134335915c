//! One login of one cluster user on this node: Teleport's
//! `RoleSet.checkAccess`, the per-session MFA rule (`AccessState`) and the
//! private key policy, plus locks. Who the decision is for is `resolve`'s.

use super::applied_role::{allow_check, apply_traits, AppliedRole};
use super::bundle::Bundle;
use super::check_access::first_denial;
use super::key_policy::KeyPolicy;
use super::limits::{device_trust_denial, expired_certificate, identity_denial};
use super::locking_mode::apply_stale_lock_view;
use super::locks::{LockHolder, LockSubject};
use super::login_state::roles_origin;
use super::query::{Access, Decision, LoginQuery, ServiceClass};
use super::require_mfa::RequireMfa;
use super::requirement::Requirement;
use super::resources::{Role, User};
use super::role_prefetch::role_outcomes;

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
        requirement,
        user: given.map(str::to_owned),
        reasons,
        ..Decision::unlocked()
    };
    let holder = LockHolder {
        user: given,
        ..LockHolder::default()
    };
    apply_locks(bundle, q, holder, &mut decision);
    apply_stale_lock_view(bundle, q, &[], &mut decision);
    decision
}

/// One known cluster user (or a certificate's identity): deny first, then
/// the allowing roles, the requirement, the locks.
pub(super) fn decide_for_user(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    mut reasons: Vec<String>,
) -> Decision {
    reasons.extend(roles_origin(user));
    let (roles, missing) = user_roles(bundle, user, q.now);
    let outcomes = role_outcomes(bundle, &roles, &q.node.labels);
    let applied: Vec<AppliedRole<'_>> = roles
        .iter()
        .zip(outcomes)
        .map(|(role, known)| apply_traits(role, &user.traits, &q.node.labels, known, &mut reasons))
        .collect();

    // Deny first: deny rules never look at MFA; an allow side that cannot
    // be evaluated does, as far as `checkAccess` reaches it.
    let denial = identity_denial(q, user)
        .or_else(|| first_denial(bundle, q, user, (&roles, &applied), &missing, &mut reasons));

    // Then allow.
    let mut allowing = match denial {
        None => allowing_roles(q, &applied, &mut reasons),
        Some(_) => Vec::new(),
    };

    let requirement = user_requirement(bundle, q, user, &applied, &allowing, &mut reasons);

    // A role that allows may still ask for a trusted device, and a
    // certificate's session may have reached its end.
    let denial = denial.or_else(|| {
        let why = device_trust_denial(bundle, q, user, &allowing)
            .or_else(|| expired_certificate(bundle, q, user, &roles))?;
        allowing.clear();
        Some(why)
    });
    let access = match denial {
        Some(why) => {
            reasons.push(why);
            Access::Deny
        }
        None => allow_verdict(q, user, &applied, &allowing, requirement, &mut reasons),
    };

    let mut decision = Decision {
        access,
        requirement,
        user: Some(user.name.clone()),
        known_user: true,
        roles: allowing.iter().map(|a| a.role.name.clone()).collect(),
        reasons,
        ..Decision::unlocked()
    };
    let holder = LockHolder {
        bundle_user: bundle.users().position_of(user),
        ..LockHolder::of(user)
    };
    apply_locks(bundle, q, holder, &mut decision);
    apply_stale_lock_view(bundle, q, &roles, &mut decision);
    decision
}

/// Teleport's session monitor at a certificate's end (lib/srv/monitor.go
/// `Monitor.start` with `DisconnectExpiredCert`): why a live session of
/// `user` ends at `q.now` because its certificate has expired under
/// `disconnect_expired_cert` (the cap's or one of the user's roles').
pub fn expired_certificate_ends(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
) -> Option<String> {
    let (roles, _) = user_roles(bundle, user, q.now);
    expired_certificate(bundle, q, user, &roles)
}

/// The user's roles that exist in the bundle, each once, and the names of
/// those that are missing. A role that is missing denies: Teleport's
/// `FetchRoleList` (lib/services/role.go) fails when one of the user's
/// roles cannot be fetched, so no access checker is built and the login is
/// refused; the missing role could hold deny rules or require MFA. A role
/// past its `metadata.expires` is missing (the backend deleted it).
fn user_roles<'b, 'u>(
    bundle: &'b Bundle,
    user: &'u User,
    now: std::time::SystemTime,
) -> (Vec<&'b Role>, Vec<&'u str>) {
    let (mut roles, mut missing) = roles_in_bundle(bundle, user);
    if !bundle.some_role_expires() {
        // Not one role's record read for this.
        return (roles, missing);
    }
    roles.retain(|r| {
        let gone = r.expires.is_some_and(|e| e <= now);
        if gone {
            if let Some(name) = user.roles.iter().find(|n| ***n == *r.name) {
                missing.push(name);
            }
        }
        !gone
    });
    (roles, missing)
}

/// The user's roles that exist in the bundle, each once, and the names of
/// those that do not.
fn roles_in_bundle<'b, 'u>(bundle: &'b Bundle, user: &'u User) -> (Vec<&'b Role>, Vec<&'u str>) {
    let mut roles: Vec<&Role> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    if let Some(positions) = bundle.user_role_positions(user) {
        // One of the bundle's users: their roles were found when it was made.
        // The names are read only for a missing role.
        let mut seen: Vec<u32> = Vec::new();
        for (i, p) in positions.enumerate() {
            match p {
                Some(p) if !seen.contains(&p) => {
                    seen.push(p);
                    roles.push(bundle.roles().at(p));
                }
                Some(_) => {}
                None => missing.extend(user.roles.get(i).map(|n| &**n)),
            }
        }
        return (roles, missing);
    }
    for name in &user.roles {
        match bundle.roles().get(name) {
            Some(role) if !roles.iter().any(|r| r.name == role.name) => roles.push(role),
            Some(_) => {}
            None => missing.push(name),
        }
    }
    (roles, missing)
}

/// The roles that allow this login, each with a reason (why the others do
/// not is read only when none does: see `allow_verdict`).
fn allowing_roles<'a, 'b>(
    q: &LoginQuery<'_>,
    applied: &'a [AppliedRole<'b>],
    reasons: &mut Vec<String>,
) -> Vec<&'a AppliedRole<'b>> {
    let mut allowing = Vec::new();
    for a in applied {
        if let Ok(how) = allow_check(a, q) {
            {
                reasons.push(format!(
                    "role {} allows login {} on {} ({how}) and {}",
                    a.role.name,
                    q.login,
                    q.node.name,
                    requires_phrase(a.facts.require_session_mfa)
                ));
                allowing.push(a);
            }
        }
    }
    allowing
}

/// Requirement: the cap, the allowing roles' session MFA, the key policy of
/// all roles, and the admin rule.
fn user_requirement(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    applied: &[AppliedRole<'_>],
    allowing: &[&AppliedRole<'_>],
    reasons: &mut Vec<String>,
) -> Requirement {
    let mut requirement = cap_requirement(bundle, reasons);
    for a in allowing {
        requirement.session |= a.facts.require_session_mfa.is_session_required();
    }
    apply_key_policy(user, applied, &mut requirement, reasons);
    admin_rule(bundle, q.class, requirement, reasons)
}

/// The strictest key policy of ALL the user's roles, allowing or not.
fn apply_key_policy(
    user: &User,
    applied: &[AppliedRole<'_>],
    requirement: &mut Requirement,
    reasons: &mut Vec<String>,
) {
    let mut key_sources = Vec::new();
    for a in applied {
        let policy = a.facts.require_session_mfa.key_policy();
        if policy != KeyPolicy::None {
            key_sources.push(format!("role {}: {policy}", a.role.name));
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
}

/// Access when no role denies: allowed when some role allows; else
/// denied, with why each role does not allow it.
fn allow_verdict(
    q: &LoginQuery<'_>,
    user: &User,
    applied: &[AppliedRole<'_>],
    allowing: &[&AppliedRole<'_>],
    requirement: Requirement,
    reasons: &mut Vec<String>,
) -> Access {
    if allowing.is_empty() {
        let detail = if applied.is_empty() {
            format!("{} has no roles in the bundle", user.name)
        } else {
            let misses: Vec<String> = applied
                .iter()
                .filter_map(|a| {
                    let why = allow_check(a, q).err()?;
                    Some(format!("{}: {why}", a.role.name))
                })
                .collect();
            misses.join("; ")
        };
        reasons.push(format!(
            "no role of {} allows login {} on {} ({detail})",
            user.name, q.login, q.node.name
        ));
        return Access::Deny;
    }
    reasons.push(format!("requirement: {}", requirement.name()));
    Access::Allow
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
            "admin actions require MFA: the cluster enforces a second factor and OTP is not one of them (Teleport's IsAdminActionMFAEnforced)".to_owned(),
        );
    }
    requirement
}

/// A matching lock in force denies. Also called for roles that only a
/// lock reads (a trusted cluster user's own roles, see
/// `login::remote_cluster`).
pub fn apply_locks(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    holder: LockHolder<'_>,
    decision: &mut Decision,
) {
    let subject = LockSubject {
        user: holder.user,
        roles: holder.roles,
        login: q.login,
        node: &q.node.name,
        node_id: q.node.id.as_deref(),
        mfa_device: q.mfa_device,
        cert_mfa_device: holder.cert_mfa_device,
        device: holder.device,
        access_requests: holder.access_requests,
        bot: holder.bot,
        bot_instance_id: holder.bot_instance_id,
        join_token_sha256: holder.join_token_sha256,
        bundle_user: holder.bundle_user,
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
