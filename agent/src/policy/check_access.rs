//! What refuses a login before any role is asked to allow it, in the
//! order Teleport's `RoleSet.checkAccess` (lib/services/role.go) walks the
//! user's roles: every role's deny side first, then the allow side role by
//! role in the set's order, where a role whose allow side cannot be
//! evaluated fails the whole check. When the login's access state asks
//! nothing more (`mfaAllowed && deviceAllowed`), `checkAccess` returns at
//! the first role that allows it, so the roles after that one are never
//! evaluated on their allow side. Used by `decide`.

use super::applied_role::{allow_check, allow_error, deny_side_reason, AppliedRole};
use super::bundle::Bundle;
use super::query::{LoginQuery, ServiceClass};
use super::resources::{Role, User};

/// Why the login is denied before any role is asked to allow it: a
/// missing role; else the first role (in order) whose deny side denies it
/// or, among the roles `checkAccess`'s allow loop reaches, whose allow side
/// cannot be evaluated (either one denies, so the order only picks the
/// reason). An allow-side error `checkAccess` never reaches is noted in
/// `reasons`. `roles` and `applied` are the user's roles in the set's
/// order (the certificate's or the user resource's, as Teleport's
/// `FetchRoles` keeps it), one applied role per role.
pub(super) fn first_denial(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    (roles, applied): (&[&Role], &[AppliedRole<'_>]),
    missing: &[&str],
    reasons: &mut Vec<String>,
) -> Option<String> {
    if !missing.is_empty() {
        return Some(format!(
            "role(s) {} of {} not in the bundle: Teleport cannot load the user's roles (FetchRoleList fails), so access is denied",
            missing.join(", "),
            user.name
        ));
    }
    let early_exit = early_exit(bundle, q, user, roles, applied);
    let reached = early_exit.as_ref().map_or(applied.len(), |e| e.at + 1);
    let mut allow_error_at = None;
    let denial = applied.iter().enumerate().find_map(|(i, a)| {
        deny_side_reason(a, q).or_else(|| {
            let why = allow_error(a, q).filter(|_| i < reached)?;
            allow_error_at = Some(i);
            Some(format!("{why}: the access check fails, denied to be safe"))
        })
    });
    match (&denial, early_exit, allow_error_at) {
        (None, Some(exit), _) => {
            let first = &applied[exit.at].role.name;
            for why in applied[reached..].iter().filter_map(|a| allow_error(a, q)) {
                reasons.push(format!(
                    "{why}, but Teleport's checkAccess never evaluates it: role {first}, before it in the user's roles, allows this login and {}, so the check ends there",
                    exit.because
                ));
            }
        }
        (Some(_), None, Some(at)) => {
            reasons.extend(certificate_note(bundle, q, roles, applied, at))
        }
        _ => {}
    }
    denial
}

/// For an SSH login denied by the allow side of role `at` that cannot be
/// evaluated, when an earlier role allows it and no deny side denies it:
/// that a Teleport certificate with these roles from a trusted device (and
/// MFA-verified, unless no session MFA is required) would pass Teleport's
/// `checkAccess`, which would stop before role `at` (so `mfactl explain`,
/// which decides without a certificate, says so). No more than that: locks,
/// device trust, expiry and pam-mfa's own tap requirement still apply.
fn certificate_note(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    roles: &[&Role],
    applied: &[AppliedRole<'_>],
    at: usize,
) -> Option<String> {
    if q.class != ServiceClass::Ssh || applied.iter().any(|a| deny_side_reason(a, q).is_some()) {
        return None;
    }
    let first = applied[..at].iter().find(|a| allow_check(a, q).is_ok())?;
    let mfa = if mfa_required_never(bundle, roles) {
        ""
    } else {
        " and MFA-verified"
    };
    Some(format!(
        "a Teleport certificate with these roles, from a trusted device{mfa}, would pass Teleport's checkAccess: it stops at role {}, which allows this login, before it reaches role {}",
        first.role.name, applied[at].role.name
    ))
}

/// Where `checkAccess` returns at once: the first role (in order) that
/// allows the login, when the access state asks nothing more.
struct EarlyExit {
    /// That role's position in the user's roles.
    at: usize,
    /// Why the access state asks nothing more, for a sentence.
    because: &'static str,
}

/// `checkAccess`'s early exit for this login, if it takes one: when
/// `mfaAllowed` (the certificate is MFA-verified, or `MFARequiredNever`)
/// and `deviceAllowed` (a trusted device), at the first role whose allow
/// side allows the login, an earlier role's allow-side error having failed
/// the check before (`first_denial` keeps it).
///
/// SSH logins only: there every Teleport node sets the access state's
/// `EnableDeviceVerification`, and a certificate carries `MFAVerified` and
/// `DeviceVerified` (lib/srv/authhandlers.go). A sudo, su or desktop login
/// on this host is not Teleport's access to a node: no certificate and no
/// access state come with it, and device trust is not applied to it
/// (`limits::device_trust_denial`), so Teleport's state cannot be known
/// and any allow-side error of the user's roles denies it, as it always
/// has (fail closed).
fn early_exit(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    roles: &[&Role],
    applied: &[AppliedRole<'_>],
) -> Option<EarlyExit> {
    let cert = user.cert();
    if q.class != ServiceClass::Ssh || !cert.trusted_device {
        return None;
    }
    let because = if cert.is_mfa_verified() {
        "the certificate comes from a trusted device and is MFA-verified"
    } else if mfa_required_never(bundle, roles) {
        "the certificate comes from a trusted device and neither the cluster nor any role of the user requires session MFA"
    } else {
        return None;
    };
    let at = applied.iter().position(|a| allow_check(a, q).is_ok())?;
    Some(EarlyExit { at, because })
}

/// Teleport's `MFARequiredNever` (`RoleSet.getMFARequired`, from
/// `AccessChecker.GetAccessState`): the cap's `require_session_mfa` and
/// every one of the user's roles', allowing this login or not, are off.
/// Every other value, the `hardware_key*` ones included, requires session
/// MFA (`RequireMFAType.IsSessionMFARequired`: anything but off). Teleport's
/// implicit role adds nothing: its value is off.
fn mfa_required_never(bundle: &Bundle, roles: &[&Role]) -> bool {
    !bundle.cap.require_session_mfa.is_session_required()
        && roles
            .iter()
            .all(|r| !r.require_session_mfa.is_session_required())
}
