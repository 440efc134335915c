//! Stage 4 of a decision: whether the evidence this authentication carries
//! (a certificate, the login key, a recent tap from the same source)
//! satisfies what the policy requires. Each function allows `v` and says
//! so, or leaves it refused with the message a person reads.

use super::evidence::{check, KeyClass};
use super::key_rules::{cert_key_class, device_locked, hint, tap_requirement};
use super::login_key::LoginKey;
use super::reuse::ConnectionKey;
use super::verdict::Verdict;
use crate::policy::{Bundle, DeviceKind, Requirement, ServiceClass};
use crate::state::AgentState;
use crate::verify::ssh_cert::TeleportIdentity;

/// A Teleport certificate: `mfa-verified` (checked inside the validity
/// window) is the session MFA; the key policy is about the certified key.
pub(super) fn by_certificate(
    v: &mut Verdict,
    c: &TeleportIdentity,
    req: Requirement,
    reasons: &str,
) -> bool {
    let key_class = cert_key_class(c.private_key_policy.as_deref());
    let with_mfa = Requirement {
        session: req.session && c.mfa_verified.is_none(),
        key_policy: req.key_policy,
    };
    match check(&with_mfa, key_class) {
        Ok(()) => {
            v.allow = true;
            v.evidence = Some(match &c.mfa_verified {
                Some(_) => format!("cert_mfa_verified_{}", key_class.name()),
                None => format!("cert_key_{}", key_class.name()),
            });
            v.device = c.mfa_verified.clone();
            v.reason = format!(
                "{reasons}; Teleport certificate of {} (key class {})",
                c.key_id,
                key_class.name()
            );
            true
        }
        Err(missing) => {
            v.message = format!("pam-mfa: {missing}; your certificate does not show it.");
            v.reason = format!("{reasons}; certificate: {missing}");
            false
        }
    }
}

/// What the login is about, for the messages and the reuse cache.
pub(super) struct Asked<'a> {
    pub(super) user: &'a str,
    pub(super) login: &'a str,
    pub(super) rhost: Option<&'a str>,
    pub(super) class: ServiceClass,
    pub(super) reasons: &'a str,
    /// The key or certificate of this connection that identified `user`;
    /// none when the person was only guessed from the login name.
    pub(super) key: Option<&'a ConnectionKey>,
}

/// The person's registered login key, when sshd accepted one; `used_sk`:
/// whether any security key was used (an unregistered one).
pub(super) fn by_login_key(
    state: &AgentState,
    v: &mut Verdict,
    key: Option<&LoginKey<'_>>,
    req: Requirement,
    a: &Asked<'_>,
    used_sk: bool,
) -> bool {
    let (node, user, reasons) = (&state.node.name, a.user, a.reasons);
    let Some(key) = key else {
        v.message = if used_sk {
            format!(
                "pam-mfa: the security key you used is not registered for {user}; {node} requires MFA ({}). {}",
                req.name(),
                hint(&req)
            )
        } else {
            format!(
                "pam-mfa: {node} requires MFA ({}) for {user}: log in with your registered security key (ed25519-sk or ecdsa-sk) instead of a plain key. {}",
                req.name(),
                hint(&req)
            )
        };
        v.reason = format!(
            "{reasons}; {}",
            if used_sk {
                "an unregistered security key was used"
            } else {
                "no registered security key was used"
            }
        );
        return false;
    };
    let (dev, key_class, note) = (key.device, key.class, &key.note);
    v.device = Some(dev.id.to_string());
    match check(&req, key_class) {
        Ok(()) => {
            v.allow = true;
            let kind = match dev.kind {
                DeviceKind::Piv(_) => "piv",
                _ => "ssh_sk",
            };
            v.evidence = Some(format!("{kind}_{}", key_class.name()));
            if let Some(k) = a.key {
                state
                    .reuse
                    .record(k, a.login, a.rhost, key_class, &dev.id, state.now());
            }
            v.reason = format!(
                "{reasons}; security key {} ({}) {note}",
                dev.name,
                key_class.name()
            );
            true
        }
        Err(missing) => {
            v.message = match &key.piv_refusal {
                Some(why) => format!(
                    "pam-mfa: {missing}; the PIV key {} does not count: {why}",
                    dev.name
                ),
                None => format!(
                    "pam-mfa: {missing}; the key {} was accepted as '{}'. {}",
                    dev.name,
                    key_class.name(),
                    hint(&req)
                ),
            };
            v.reason = format!(
                "{reasons}; {missing}; key class {} {note}",
                key_class.name()
            );
            false
        }
    }
}

/// Whether the login key meets the hardware-key part of `req` (a tap
/// cannot: it proves the session's MFA and its touch/PIN only).
pub(super) fn login_key_meets_key_policy(req: Requirement, login_key: KeyClass) -> bool {
    check(
        &Requirement {
            session: false,
            key_policy: req.key_policy,
        },
        login_key,
    )
    .is_ok()
}

/// The class that answers for the hardware-key part of `req` on an SSH
/// login: the registered login key's, else the one the certificate's
/// `private-key-policy` states (`cert_key`), when that one meets it. A
/// certificate of this cluster's user CA is Teleport's word for the key it
/// certifies, as Teleport's `keys.IsRequiredPolicyMet` (api/utils/keys)
/// reads it: `hardware_key` meets `hardware_key`. It is the key's class,
/// not session evidence: [`by_certificate`] judged the certificate as MFA
/// already (`mfa-verified`, or a touch/PIN policy: Teleport's
/// `PrivateKeyPolicy.MFAVerified`), so a plain `hardware_key` certificate
/// still needs a tap (Teleport's `RequireMFAType.IsSessionMFARequired`
/// holds for every value but off).
pub(super) fn key_part_class(
    v: &mut Verdict,
    req: Requirement,
    login_key: KeyClass,
    cert_key: KeyClass,
) -> KeyClass {
    if login_key_meets_key_policy(req, login_key) || !login_key_meets_key_policy(req, cert_key) {
        return login_key;
    }
    v.reason = format!(
        "{}; the certificate's key (class {}) meets {}; the session's MFA is still needed",
        v.reason,
        cert_key.name(),
        req.key_policy
    );
    cert_key
}

/// A tap within `reuse_window` (off by default) by the same person, from
/// the same source, for a connection that presents again the login key or
/// certificate that identified them then; its device not locked since. A
/// login whose person is only guessed from its name reuses nothing. Only
/// SSH logins come here (pipeline.rs): the reused tap must prove what
/// [`tap_requirement`] asks of a fresh one.
pub(super) fn by_reuse(
    state: &AgentState,
    bundle: &Bundle,
    v: &mut Verdict,
    req: Requirement,
    login_key: KeyClass,
    a: &Asked<'_>,
) -> bool {
    let window = state.config.reuse_window;
    let Some(key) = a.key else {
        return false;
    };
    if !login_key_meets_key_policy(req, login_key) {
        return false;
    }
    let reused = state
        .reuse
        .lookup(key, a.login, a.rhost, window, state.now())
        // What a tap must prove, as for a fresh one (key_rules.rs).
        .filter(|r| check(&tap_requirement(req, a.class), r.class).is_ok())
        // A device locked or removed since the tap does not count.
        .filter(|r| {
            bundle
                .devices_for_user(a.user)
                .iter()
                .any(|d| *d.id == r.device)
                && !device_locked(state, bundle, a.login, a.user, a.class, &r.device)
        });
    let Some(r) = reused else {
        return false;
    };
    v.allow = true;
    v.tap_users.clear();
    v.message.clear();
    v.evidence = Some(format!("reuse_{}", r.class.name()));
    v.device = Some(r.device);
    v.reason = format!(
        "{}; a {} tap {}s ago from the same source and login key is reused (reuse_window {}s)",
        a.reasons,
        r.class.name(),
        r.age.as_secs(),
        window.as_secs()
    );
    true
}
