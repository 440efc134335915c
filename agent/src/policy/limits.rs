//! What ends an otherwise allowed login in Teleport, beside deny rules:
//! the user's expiry, device trust, and a certificate's end under
//! `disconnect_expired_cert`. Used by `decide`.

use super::applied_role::AppliedRole;
use super::bundle::Bundle;
use super::login_state::login_state_denial;
use super::query::LoginQuery;
use super::resources::{NodeLimit, Role, User};
use super::ServiceClass;

/// Why this person may not log in here whatever their roles say: a user
/// past their `metadata.expires` no longer exists in Teleport (the backend
/// deletes the resource), a resource access request's certificate reaches
/// only the nodes it names, and a user whose account is locked after
/// failed attempts cannot authenticate; nor can a user whose roles a
/// `user_login_state` gave when the state has no user resource beside it
/// or has expired (`login_state`). Nothing of theirs allows a login then,
/// not even a registered key of theirs.
pub(super) fn identity_denial(q: &LoginQuery<'_>, user: &User) -> Option<String> {
    if user.is_expired(q.now) {
        return Some(format!(
            "cluster user {} expired (metadata.expires): Teleport has deleted the user, so access is denied",
            user.name
        ));
    }
    if let Some(why) = login_state_denial(q, user) {
        return Some(why);
    }
    if let Some(why) = resource_request_denial(q, user) {
        return Some(why);
    }
    // Teleport's `WithUserLock`: a locked account authenticates nowhere
    // (its live sessions go on, as in Teleport: `sessions::assess` ends a
    // session only for a lock resource or an expired certificate).
    user.is_login_locked(q.now).then(|| {
        format!(
            "cluster user {} is locked after too many failed attempts (spec.status), so access is denied",
            user.name
        )
    })
}

/// lib/services/access_checker.go `AccessChecker.CheckAccess` →
/// `checkAllowedResources`: a certificate of a resource access request
/// reaches only the nodes it names, compared with this node's resource name
/// (`resourceID.Name == r.GetName()`: the node's `metadata.name`, its host
/// UUID, `node.id` here), never with its host name. Without `node.id` this
/// node cannot be told among them, so none is. A node the request limited
/// to some logins (an `ssh` constraint, applied by lib/services
/// `WithConstraints` to the login matcher) is reached only with those, and
/// one with a constraint this agent does not apply not at all.
fn resource_request_denial(q: &LoginQuery<'_>, user: &User) -> Option<String> {
    let nodes = user.cert().allowed_nodes.as_ref()?;
    let limited = format!(
        "the certificate of {} is limited to the resources of an access request",
        user.name
    );
    let Some(id) = q.node.id.as_deref() else {
        return Some(format!(
            "{limited}, and without node.id this node is none of them: set node.id in agent.yaml to this node's Teleport resource name (its host UUID: the content of Teleport's host_uuid file, or the node's metadata.name in `tctl get nodes`)"
        ));
    };
    let here: Vec<&NodeLimit> = nodes
        .iter()
        .filter(|n| n.name == id)
        .map(|n| &n.limit)
        .collect();
    if here.is_empty() {
        return Some(format!("{limited} and this node ({id}) is not one of them"));
    }
    here.into_iter().find_map(|limit| match limit {
        NodeLimit::Unconstrained => None,
        NodeLimit::Logins(logins) if logins.iter().any(|l| l == q.login) => None,
        NodeLimit::Logins(logins) => Some(format!(
            "{limited}, which allows this node ({id}) only as {}, not as {}",
            logins.join(", "),
            q.login
        )),
        NodeLimit::Unsupported(what) => Some(format!(
            "{limited}, which limits this node ({id}) by {what}, which pam-mfa does not apply, so access is denied"
        )),
    })
}

/// Teleport's device trust for one SSH login (lib/services/role.go
/// `checkAccess` with `EnableDeviceVerification`, which every SSH node
/// sets, and `dtauthz.VerifyTrustedDeviceMode`): a role that allows the
/// login with `device_trust_mode: required` (exactly that: checkAccess
/// asks nothing else of a role), and the cap's `device_trust.mode` when it
/// is `required` or a mode Teleport does not know, or `required-for-humans`
/// for a person (not a Machine ID bot), deny unless the login comes with a trusted device: a certificate
/// with Teleport's device extensions. Only SSH logins carry one; device
/// trust is Teleport's access to nodes, and sudo, su and desktop logins on
/// this host are not that access (nothing there could ever prove a device).
pub(super) fn device_trust_denial(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    allowing: &[&AppliedRole<'_>],
) -> Option<String> {
    if q.class != ServiceClass::Ssh || user.cert().trusted_device || allowing.is_empty() {
        return None;
    }
    let cap_mode = &bundle.cap.device_trust_mode;
    // Teleport's `VerifyTrustedDeviceMode` (lib/devicetrust/authz): empty
    // (the edition's default), off and optional ask for nothing; a mode it
    // does not know counts as required.
    let unknown = " (a mode Teleport does not know counts as required)";
    let cap_needs_device = match cap_mode.as_str() {
        "" | "off" | "optional" => None,
        "required-for-humans" => (!user.cert().bot).then_some(""),
        "required" => Some(""),
        _ => Some(unknown),
    };
    if let Some(unknown) = cap_needs_device {
        return Some(format!(
            "cluster_auth_preference device_trust mode is {cap_mode}{unknown}: a trusted device is required and this login does not come from one, so access is denied"
        ));
    }
    allowing
        .iter()
        .find(|a| a.role.device_trust_mode == "required")
        .map(|a| {
            format!(
                "role {} allows this login but its device_trust_mode is {}: a trusted device is required and this login does not come from one, so access is denied",
                a.role.name, a.role.device_trust_mode
            )
        })
}

/// Teleport's `disconnect_expired_cert` (the cap's, or any of the user's
/// roles': `AdjustDisconnectExpiredCert`): a certificate identity past its
/// hard deadline (`User::cert_expires`) no longer has access, so its
/// session ends. A login checks the certificate's validity itself.
pub(super) fn expired_certificate(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    user: &User,
    roles: &[&Role],
) -> Option<String> {
    let end = user.cert().cert_expires.filter(|end| *end <= q.now)?;
    let by = if bundle.cap.disconnect_expired_cert {
        "cluster_auth_preference".to_owned()
    } else {
        format!(
            "role {}",
            roles.iter().find(|r| r.disconnect_expired_cert)?.name
        )
    };
    let ago = q.now.duration_since(end).unwrap_or_default().as_secs();
    Some(format!(
        "the certificate of {} expired {ago}s ago and {by} sets disconnect_expired_cert: access ends",
        user.name
    ))
}
