//! Who a decision is for ([`decide`]): the person named by a key, a
//! certificate or a tap; else the users the login maps to (their traits)
//! and, for a cluster-managed login (shared and system accounts), every
//! user whose roles could give it. Each is decided by `decide`'s
//! `decide_for_user`; several are combined here.

use super::bundle::Bundle;
use super::decide::{apply_locks, cap_requirement, decide_for_user, decide_unknown};
use super::locks::LockHolder;
use super::query::{Access, Decision, LoginQuery};
use super::requirement::Requirement;
use super::resources::User;
use super::vanished::VanishedUser;
use crate::utc_time::rfc3339_utc;

/// Decides one login.
///
/// 1. Who: `q.user` when given (a registered key, a certificate, a tap).
///    Else the users the login maps to: those whose `logins` trait holds it
///    (or who are named like it) and, when the login is cluster-managed
///    (some role's allow `logins` name it, see [`Bundle::login_is_managed`]),
///    every user whose roles could give it. None and not managed: an
///    unknown user, allowed with the cluster's requirement (host
///    authentication applies), unless it was a login of a user an earlier
///    bundle held ([`Bundle::vanished`]): Teleport has deleted that user,
///    and the login is denied as theirs. None but managed: denied. One user
///    named by the traits alone: decided for them. Otherwise each is
///    evaluated (`decide_several`): allowed when one is, with the strictest
///    requirement; the allowed ones are the decision's `candidates`. A
///    `q.user` that vanished is denied the same way.
/// 2. Deny first: a role whose deny `node_labels` match this node, or whose
///    deny `logins` hold the login, denies (whatever MFA is offered).
/// 3. A role allows when its allow `node_labels` match and the login is in its
///    allow `logins` (after trait templates). No allowing role: denied.
/// 4. Session MFA: the cap's, or any ALLOWING role's. Key policy: the
///    strictest over the cap and ALL of the user's roles. Admin actions: also
///    session MFA when the cap enforces a second factor without OTP
///    (`IsAdminActionMFAEnforced`).
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
            None => match bundle.vanished().get(name, q.now) {
                Some(gone) => decide_vanished(bundle, q, &[gone]),
                None => decide_not_in_bundle(bundle, q, name),
            },
        };
    }
    let (by_traits, managed) = bundle.users_and_management_of_login(q.login);
    let mut people = by_traits.clone();
    if managed {
        people.extend(bundle.users_who_may_have_login(q.login));
        people.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        people.dedup_by(|a, b| a.name == b.name);
    }
    match people.as_slice() {
        [] if managed => decide_unclaimed(bundle, q),
        [] => match bundle.vanished().for_login(q.login, q.now).as_slice() {
            [] => decide_unknown(bundle, q, None),
            gone => decide_vanished(bundle, q, gone),
        },
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

/// A `q.user` the bundle does not hold (and that did not vanish from an
/// earlier one).
fn decide_not_in_bundle(bundle: &Bundle, q: &LoginQuery<'_>, name: &str) -> Decision {
    if !bundle.login_is_managed(q.login) {
        return decide_unknown(bundle, q, Some(name));
    }
    // No roles: a cluster-managed login is not theirs.
    let mut d = decide_unclaimed(bundle, q);
    d.user = Some(name.to_owned());
    d.known_user = false;
    d.reasons.insert(
        0,
        format!("cluster user {name} is not in the bundle: no roles apply"),
    );
    d
}

/// A login that only users who vanished from the bundle held, or a
/// vanished user identified by a key or a tap: Teleport has deleted the
/// user (their `metadata.expires` passed, or an admin removed them), and a
/// deleted user is allowed nothing; it never lowers their requirement to
/// the cap's. A lock that names them is still reported (and ends their
/// live sessions), as Teleport's lock targets name the person
/// (lib/srv/ctx.go `ComputeLockTargets`, api/types/lock.go
/// `LockTarget.Match`).
fn decide_vanished(bundle: &Bundle, q: &LoginQuery<'_>, gone: &[&VanishedUser]) -> Decision {
    let mut reasons: Vec<String> = gone
        .iter()
        .map(|u| {
            format!(
                "cluster user {} is no longer in the bundle: the bundles since {} do not hold them, while an earlier one did (with login {}); Teleport deletes a user when their metadata.expires passes (an SSO user's session ended) or an admin removes them, and a deleted user is allowed nothing, so access is denied until a bundle holds them again (this is remembered until {}; `mfactl forget-user {}` forgets it sooner)",
                u.name,
                rfc3339_utc(u.since),
                q.login,
                u.until().map_or_else(|| "(time out of range)".into(), rfc3339_utc),
                u.name
            )
        })
        .collect();
    let requirement = cap_requirement(bundle, &mut reasons);
    let mut decision = Decision {
        access: Access::Deny,
        requirement,
        user: match gone {
            [one] => Some(one.name.clone()),
            _ => None,
        },
        reasons,
        ..Decision::unlocked()
    };
    for u in gone {
        let holder = LockHolder {
            user: Some(&u.name),
            ..LockHolder::default()
        };
        apply_locks(bundle, q, holder, &mut decision);
        if decision.locked {
            break;
        }
    }
    decision
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
        known_user: true,
        reasons,
        ..Decision::unlocked()
    }
}

/// A login that maps to several users, or a cluster-managed login whose
/// person is not known: allowed when one of them is; the strictest
/// requirement of those allowed applies. A lock on one of them who would be
/// allowed holds that person only (Teleport's lock targets are the
/// person's own, lib/srv/ctx.go `ComputeLockTargets`): the others may log
/// in, but only once a tap, key or certificate shows who logs in (a
/// session MFA check is required), since the person could be the locked
/// one. The allowed and unlocked ones are the candidates a tap may
/// identify; when none is left, the lock denies.
fn decide_several(bundle: &Bundle, q: &LoginQuery<'_>, users: &[&User], widened: bool) -> Decision {
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    let mut reasons = vec![several_intro(q, &names, widened)];
    let decisions: Vec<(&str, Decision)> = users
        .iter()
        .map(|u| (u.name.as_str(), decide_for_user(bundle, q, u, Vec::new())))
        .collect();
    add_users_reasons(&decisions, &mut reasons);
    let allowed: Vec<&(&str, Decision)> = decisions
        .iter()
        .filter(|(_, d)| d.access == Access::Allow)
        .collect();
    let mut decision = Decision {
        access: Access::Deny,
        known_user: true,
        candidates: allowed.iter().map(|(n, _)| n.to_string()).collect(),
        reasons,
        ..Decision::unlocked()
    };
    // A locked user counts when their roles would give the login here (a
    // candidate that could never log in here is no reason to ask).
    let locked: Vec<&(&str, Decision)> = decisions
        .iter()
        .filter(|(_, d)| d.locked && (!widened || !d.roles.is_empty()))
        .collect();
    decision.locked_candidates = locked.iter().map(|(n, _)| n.to_string()).collect();
    if let (Some((name, first)), true) = (locked.first(), allowed.is_empty()) {
        decision.locked = true;
        decision.lock_message = first.lock_message.clone();
        decision.requirement = strictest(decisions.iter().map(|(_, d)| d));
        decision.reasons.push(format!(
            "a lock holds {name}, one of the users login {} maps to, and no other may log in: access denied",
            q.login
        ));
    } else if allowed.is_empty() {
        decision.requirement = strictest(decisions.iter().map(|(_, d)| d));
        decision.reasons.push(format!(
            "none of {} may log in as {} on {}",
            name_list(&names),
            q.login,
            q.node.name
        ));
    } else {
        allow_for_several(&allowed, &mut decision);
        if !locked.is_empty() {
            let names: Vec<&str> = locked.iter().map(|(n, _)| *n).collect();
            decision.requirement.session = true;
            decision.reasons.push(format!(
                "a lock holds {}, who could be the one logging in as {}: who logs in must be shown (a tap, or a registered key or certificate of one of the others), so session MFA is required; the locked users' keys are not asked",
                name_list(&names),
                q.login
            ));
        }
    }
    decision
}

/// The first reason of a decision for several users: why there are several.
fn several_intro(q: &LoginQuery<'_>, names: &[&str], widened: bool) -> String {
    if widened {
        format!(
            "login {} is cluster-managed (a role's allow logins name it) and who logs in is not known: the {} cluster user(s) whose roles could give it are each evaluated ({}), and the strictest requirement of those allowed applies",
            q.login,
            names.len(),
            name_list(names)
        )
    } else {
        format!(
            "login {} maps to {} cluster users ({}); each is evaluated and the strictest requirement of those allowed applies",
            q.login,
            names.len(),
            name_list(names)
        )
    }
}

/// Each user's own reasons, for the first few (the allowed first): a
/// shared login may have thousands of candidates, and the reasons go into
/// every audit event.
fn add_users_reasons(decisions: &[(&str, Decision)], reasons: &mut Vec<String>) {
    let mut shown: Vec<&(&str, Decision)> =
        decisions.iter().filter(|(_, d)| d.is_allowed()).collect();
    shown.extend(decisions.iter().filter(|(_, d)| !d.is_allowed()));
    for (name, d) in shown.iter().take(REASONS_FOR_AT_MOST) {
        reasons.extend(d.reasons.iter().map(|r| format!("{name}: {r}")));
    }
    if decisions.len() > REASONS_FOR_AT_MOST {
        reasons.push(format!(
            "(the reasons of {} more users are left out)",
            decisions.len() - REASONS_FOR_AT_MOST
        ));
    }
}

/// Allows with the strictest requirement of the allowed users and the
/// roles that allow them.
fn allow_for_several(allowed: &[&(&str, Decision)], decision: &mut Decision) {
    decision.access = Access::Allow;
    decision.requirement = strictest(allowed.iter().map(|(_, d)| d));
    for (_, d) in allowed {
        for role in &d.roles {
            if !decision.roles.contains(role) {
                decision.roles.push(role.clone());
            }
        }
    }
    let allowed_names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
    decision.reasons.push(format!(
        "allowed for {}; the strictest requirement applies: {}",
        name_list(&allowed_names),
        decision.requirement.name()
    ));
}

/// How many users' own reasons a decision for several users carries.
const REASONS_FOR_AT_MOST: usize = 8;

/// Names for a reason: all of them when few, else the first few and how
/// many more.
fn name_list(names: &[&str]) -> String {
    crate::name_list::first_names(names, REASONS_FOR_AT_MOST, ", ")
}

/// The requirement that satisfies all of these decisions.
fn strictest<'d>(decisions: impl Iterator<Item = &'d Decision>) -> Requirement {
    decisions.fold(Requirement::OFF, |acc, d| acc.combine(d.requirement))
}
