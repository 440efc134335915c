//! `mfactl explain`: the decision for a login, in words.

use std::time::SystemTime;

use pam_mfa_protocol::{ExplainQuery, Explanation};

use crate::config::ServiceMap;
use crate::policy::{decide, Access, Bundle, Decision, LoginQuery, NodeInfo};
use crate::policy::{KeyPolicy, ServiceClass};

/// Explains the policy decision for `q` on `node`. The same `decide` the
/// agent uses for logins, with its view of the locks (`lock_view_stale`:
/// a strict person is then denied); evidence (keys, taps) is not part of it.
pub fn explain(
    bundle: &Bundle,
    node: &NodeInfo,
    services: &ServiceMap,
    q: &ExplainQuery,
    now: SystemTime,
    lock_view_stale: bool,
) -> Explanation {
    let service = q.service.clone().unwrap_or_else(|| "sshd".into());
    let mut reasons = Vec::new();
    let class = services.class_of(&service).unwrap_or_else(|| {
        reasons.push(format!(
            "PAM service '{service}' is not in the service map; admin rules apply"
        ));
        ServiceClass::Admin
    });
    let query = LoginQuery {
        node,
        login: &q.login,
        user: q.user.as_deref(),
        class,
        mfa_device: None,
        now,
        lock_view_stale,
    };
    let d = decide(bundle, &query);
    reasons.extend(d.reasons.iter().cloned());
    reasons.extend(nobody_can_tap_note(bundle, &d, class, &q.login));
    reasons.extend(crate::policy::unjudged_node_locks(
        bundle.locks(),
        &node.name,
        node.id.as_deref(),
        now,
    ));
    Explanation {
        access: if d.access == Access::Allow {
            "allow"
        } else {
            "deny"
        }
        .into(),
        mfa: d.requirement.name().into(),
        user: d.user.clone(),
        candidates: d.candidates.clone(),
        locked_candidates: d.locked_candidates.clone(),
        roles: d.roles.clone(),
        locked: d.locked,
        reasons,
        node: node.name.clone(),
        login: q.login.clone(),
        service,
        class: class.name().into(),
        policy_revision: bundle.revision.clone(),
    }
}

/// How the reason [`nobody_can_tap_note`] gives begins (`mfactl explain`
/// shows it beside the access too).
pub const NOBODY_CAN_TAP: &str = "nobody can tap for this login";

/// The reason saying an allowed login is refused all the same because
/// nobody can tap for it ([`nobody_can_tap_note`]), when `e` has one
/// (`mfactl explain` shows it beside the access; `mfactl doctor` reports
/// it for root and the NOPASSWD accounts).
pub fn nobody_can_tap(e: &Explanation) -> Option<&str> {
    if e.access != "allow" {
        return None;
    }
    e.reasons
        .iter()
        .find(|r| r.starts_with(NOBODY_CAN_TAP))
        .map(String::as_str)
}

/// An allowed login that needs MFA but that no tap can answer: `decide`
/// leaves evidence out, so "allow" alone would read as if the login will
/// pass. Only a registered device (the bundle's `mfa_device`s) of the
/// person can tap (login/tap.rs `tap_devices`, local_tap.rs `begin`), and
/// a reused tap counts only while its device is still registered
/// (login/satisfy.rs `by_reuse`). The person is `d.user` when the login is
/// decided for one user (a known one, or a name the bundle does not hold):
/// without a device of theirs nothing but a certificate can answer
/// ([`one_user_without_device`]). Else one of the candidates; with nobody
/// the login maps to (or a user the bundle does not know), or none of them
/// holding a device, the login is refused (login/ask.rs `candidates_tap`).
/// Over SSH a Teleport certificate names its person, and the login is then
/// decided for them.
fn nobody_can_tap_note(
    bundle: &Bundle,
    d: &Decision,
    class: ServiceClass,
    login: &str,
) -> Option<String> {
    if d.access != Access::Allow || d.requirement.is_off() {
        return None;
    }
    if let Some(user) = d.user.as_deref() {
        return bundle
            .devices_for_user(user)
            .is_empty()
            .then(|| one_user_without_device(d, class, user));
    }
    let unless = match class {
        ServiceClass::Ssh => {
            " unless a Teleport certificate names the person (and meets the requirement)"
        }
        _ => "",
    };
    let req = d.requirement.name();
    if !d.known_user || d.candidates.is_empty() {
        return Some(format!(
            "{NOBODY_CAN_TAP}: login {login} is not a cluster user's, so no registered device can answer the {req} requirement and the login will be refused{unless} (give the login to a cluster user: their traits.logins, or a role's allow.logins for them)"
        ));
    }
    if d.candidates
        .iter()
        .any(|u| !bundle.devices_for_user(u).is_empty())
    {
        return None;
    }
    Some(format!(
        "{NOBODY_CAN_TAP}: none of the cluster users it may be ({}) has a registered device (mfa_device), so no tap can answer the {req} requirement and the login will be refused{unless} (`mfactl enroll` a key for one of them)",
        super::ask::few(&d.candidates, ", ")
    ))
}

/// [`nobody_can_tap_note`] for a login decided for `user`, who has no
/// registered device. Outside SSH only a fresh tap answers
/// (login/pipeline.rs `evaluate`, then `fresh_tap`), and with no device it
/// is refused (login/conversation.rs `cannot_tap`, local_tap.rs `begin`).
/// Over SSH a registered login key or a reused tap would be a device too,
/// so only a Teleport certificate can satisfy the requirement
/// (login/satisfy.rs `by_certificate`), and the note says what it must
/// show: a `hardware_key` key is no MFA (Teleport's
/// `PrivateKeyPolicy.MFAVerified`: a touch or a PIN policy is).
fn one_user_without_device(d: &Decision, class: ServiceClass, user: &str) -> String {
    let req = d.requirement;
    let certificate = match class {
        ServiceClass::Ssh if req.session && req.key_policy == KeyPolicy::HardwareKey => {
            ": its private-key-policy meets it, and it shows MFA (mfa-verified, or a touch or PIN key policy)"
        }
        ServiceClass::Ssh if req.key_policy != KeyPolicy::None => {
            ": its private-key-policy meets it"
        }
        ServiceClass::Ssh => ": it shows the MFA check (mfa-verified)",
        _ => "",
    };
    let unless = if class == ServiceClass::Ssh {
        format!(" unless a Teleport certificate names the person (and meets the requirement{certificate})")
    } else {
        String::new()
    };
    format!(
        "{NOBODY_CAN_TAP}: {user} has no registered device (mfa_device) in this policy, so no tap can answer the {} requirement and the login will be refused{unless} (`mfactl enroll` a key for {user})",
        req.name()
    )
}
