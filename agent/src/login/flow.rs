//! One PAM decision: who is logging in, what the policy requires, and
//! whether what sshd verified satisfies it.

use std::borrow::Cow;
use std::sync::Arc;

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::auth_info::{accepted_keys, AcceptedKey};
use super::conversation::{start, Step};
use super::evidence::{check, KeyClass};
use super::session_hooks::{close_session, open_session};
use crate::audit::AuditEvent;
use crate::config::FailMode;
use crate::policy::{
    decide, decide_with_identity, Access, Bundle, DeviceKind, KeyPolicy, LoginQuery, MfaDevice,
    Requirement, ServiceClass, User,
};
use crate::state::{AgentState, Unusable};
use crate::verify::ssh_cert::verify_user_cert;

/// Who asked, from SO_PEERCRED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIds {
    pub pid: i32,
    pub uid: u32,
}

/// The result of one decision before it is sent and audited.
#[derive(Clone)]
pub(super) struct Verdict {
    pub(super) allow: bool,
    /// Shown to the person on deny.
    pub(super) message: String,
    pub(super) user: Option<String>,
    pub(super) requirement: Option<Requirement>,
    pub(super) evidence: Option<String>,
    pub(super) device: Option<String>,
    pub(super) reason: String,
    /// Set when a tap by this cluster user could still satisfy the login.
    pub(super) tap_user: Option<String>,
    /// A verified Teleport certificate's identity, when one decided.
    pub(super) identity: Option<User>,
}

impl Verdict {
    fn deny(message: String, reason: String) -> Verdict {
        Verdict {
            allow: false,
            message,
            user: None,
            requirement: None,
            evidence: None,
            device: None,
            reason,
            tap_user: None,
            identity: None,
        }
    }
}

pub fn service_class(state: &AgentState, service: &str) -> (ServiceClass, Option<String>) {
    match state.services.class_of(service) {
        Some(c) => (c, None),
        None => (
            ServiceClass::Admin,
            Some(format!(
                "PAM service '{service}' is not in the service map; admin rules apply"
            )),
        ),
    }
}

/// The login the policy is asked about: for admin actions (sudo, su) the
/// invoking user's own, otherwise the account being logged in to.
pub fn policy_login(class: ServiceClass, ctx: &PamContext) -> String {
    match (class, ctx.ruser.as_deref()) {
        (ServiceClass::Admin, Some(r)) if !r.is_empty() => r.to_string(),
        _ => ctx.user.clone(),
    }
}

/// Handles `Begin`: decides from the evidence at hand; in `auth`, a login
/// that a tap could still satisfy gets a challenge (see [`super::conversation`]);
/// in `account`, the tap verified during `auth` of the same login counts.
pub fn handle_begin(state: &AgentState, peer: PeerIds, hook: PamHook, ctx: &PamContext) -> Step {
    match hook {
        PamHook::OpenSession => return Step::Done(open_session(state, peer, ctx)),
        PamHook::CloseSession => return Step::Done(close_session(state, peer, ctx)),
        PamHook::Auth | PamHook::Account => super::recorded_auth::remember(state, peer, ctx),
    }
    let Opened {
        class,
        login,
        ev,
        bundle,
        ctx,
        mut v,
    } = match open_decision(state, peer, hook, ctx, "login") {
        Ok(opened) => opened,
        Err(refused) => return Step::Done(*refused),
    };
    let ctx = ctx.as_ref();
    if let (false, Some(user)) = (v.allow, v.tap_user.clone()) {
        match hook {
            PamHook::Auth => return start(state, peer, ev, v, &bundle, user, &login, ctx, class),
            PamHook::Account => {
                if let Some(g) = state.grants.take(
                    &ctx.service,
                    &login,
                    ctx.rhost.as_deref(),
                    peer.pid,
                    state.now(),
                ) {
                    let device_ok = g
                        .device
                        .as_deref()
                        .is_none_or(|d| !device_locked(state, &bundle, &login, &user, class, d));
                    if g.user == user && device_ok {
                        v.allow = true;
                        v.evidence = Some(format!("grant_{}", g.evidence));
                        v.device = g.device;
                        v.reason = format!(
                            "{}; the tap verified during authentication of this login counts",
                            v.reason
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Step::Done(finish(state, ev, v))
}

/// The start every PAM decision shares: the service class and the login the
/// policy is asked about, the audit event, the usable policy (else the
/// refusal, audited: `what` names what is refused), and the verdict from the
/// evidence at hand. `SSH_AUTH_INFO_0` is evidence only when sshd (root)
/// says so: a non-root peer asking about itself could otherwise claim any
/// public key.
pub(super) struct Opened<'c> {
    pub class: ServiceClass,
    pub login: String,
    pub ev: AuditEvent,
    pub bundle: Arc<Bundle>,
    pub ctx: Cow<'c, PamContext>,
    pub v: Verdict,
}

pub(super) fn open_decision<'c>(
    state: &AgentState,
    peer: PeerIds,
    hook: PamHook,
    ctx: &'c PamContext,
    what: &str,
) -> Result<Opened<'c>, Box<ResponseBody>> {
    let (class, class_note) = service_class(state, &ctx.service);
    let login = policy_login(class, ctx);
    let mut ev = AuditEvent::new("decision", "", &state.node.name, "", String::new());
    ev.hook = Some(hook_name(hook).into());
    ev.service = Some(ctx.service.clone());
    ev.class = Some(class.name().into());
    ev.login = Some(login.clone());
    ev.rhost = ctx.rhost.clone();
    ev.tty = ctx.tty.clone();
    ev.peer_pid = Some(peer.pid);
    ev.peer_uid = Some(peer.uid);
    let bundle = match state.policy_for_decision() {
        Ok(bundle) => bundle,
        Err(why) => return Err(Box::new(refuse_unusable(state, &why, &mut ev, what))),
    };
    ev.policy_revision = bundle.revision.clone();
    let ctx = if peer.uid == 0 {
        Cow::Borrowed(ctx)
    } else {
        Cow::Owned(PamContext {
            ssh_auth_info: None,
            ..ctx.clone()
        })
    };
    let mut v = evaluate(state, &bundle, class, &login, &ctx);
    if let Some(note) = class_note {
        v.reason = format!("{note}; {}", v.reason);
    }
    Ok(Opened {
        class,
        login,
        ev,
        bundle,
        ctx,
        v,
    })
}

/// Audits and counts a final verdict, and turns it into the response.
pub(super) fn finish(state: &AgentState, mut ev: AuditEvent, v: Verdict) -> ResponseBody {
    ev.time = crate::audit::now_rfc3339();
    ev.result = if v.allow { "allow" } else { "deny" }.into();
    ev.user = v.user.clone();
    ev.requirement = v.requirement.map(|r| r.name().to_string());
    ev.evidence = v.evidence.clone();
    ev.device = v.device.clone();
    ev.reason = v.reason.clone();
    state.counters.count(&ev.result);
    state.audit(&ev);
    if v.allow {
        ResponseBody::Allow { message: None }
    } else {
        ResponseBody::Deny { message: v.message }
    }
}

pub(super) fn hook_name(h: PamHook) -> &'static str {
    match h {
        PamHook::Auth => "auth",
        PamHook::Account => "account",
        PamHook::OpenSession => "open_session",
        PamHook::CloseSession => "close_session",
    }
}

pub(super) fn evaluate(
    state: &AgentState,
    bundle: &Bundle,
    class: ServiceClass,
    login: &str,
    ctx: &PamContext,
) -> Verdict {
    let node = &state.node.name;
    // Evidence from sshd: only for SSH logins. The key of the SSH session
    // that runs sudo is not a fresh tap for sudo.
    let keys: Vec<AcceptedKey> = match (class, &ctx.ssh_auth_info) {
        (ServiceClass::Ssh, Some(info)) => accepted_keys(info),
        _ => Vec::new(),
    };
    // Registered keys among those sshd accepted: sk keys, and PIV keys
    // (matched by their slot certificate's key; the chain is verified when
    // the class is asked for).
    let registered: Vec<(&AcceptedKey, &MfaDevice)> = keys
        .iter()
        .filter_map(|k| {
            if k.is_security_key() {
                bundle.device_by_ssh_key(&k.key_type, &k.blob)
            } else if k.is_certificate() {
                None
            } else {
                bundle.device_by_piv_key(&k.key_type, &k.blob)
            }
            .map(|d| (k, d))
        })
        .collect();
    let mut key_users: Vec<&str> = registered.iter().map(|(_, d)| d.user.as_str()).collect();
    key_users.sort_unstable();
    key_users.dedup();
    if key_users.len() > 1 {
        return Verdict::deny(
            "pam-mfa: this login used security keys of different cluster users".into(),
            format!(
                "keys of several cluster users authenticated: {}",
                key_users.join(", ")
            ),
        );
    }
    let device = registered.first().map(|(_, d)| *d);
    // A Teleport certificate: verified against the bundle's user CAs, it
    // names the cluster user and carries the roles and traits to decide with.
    let cert = match keys.iter().find(|k| k.is_certificate()) {
        Some(k) => match verify_user_cert(
            &k.key_type,
            &k.blob,
            bundle.cert_authorities(),
            login,
            state.now(),
        ) {
            Ok(identity) => Some(identity),
            Err(e) => {
                return Verdict::deny(
                    format!("pam-mfa: your certificate is not accepted: {e}"),
                    format!("certificate refused: {e}"),
                );
            }
        },
        None => None,
    };
    if let (Some(c), Some(key_user)) = (&cert, key_users.first()) {
        if c.key_id != *key_user {
            return Verdict::deny(
                "pam-mfa: this login used a certificate and a security key of different cluster users".into(),
                format!("certificate of {} with a registered key of {key_user}", c.key_id),
            );
        }
    }
    let cert_user = cert.as_ref().map(|c| User {
        name: c.key_id.clone(),
        roles: c.roles.clone(),
        traits: c.traits.clone(),
    });
    let q = LoginQuery {
        node: &state.node,
        login,
        user: cert_user
            .as_ref()
            .map(|u| u.name.as_str())
            .or(key_users.first().copied()),
        class,
        mfa_device: device
            .map(|d| d.id.as_str())
            .or(cert.as_ref().and_then(|c| c.mfa_verified.as_deref())),
        now: state.now(),
    };
    let d = match &cert_user {
        Some(u) => decide_with_identity(bundle, &q, u),
        None => decide(bundle, &q),
    };
    let reasons = d.reasons.join("; ");
    let who = d.user.clone().unwrap_or_else(|| login.to_string());
    let mut v = Verdict {
        allow: false,
        message: String::new(),
        user: d.user.clone(),
        requirement: Some(d.requirement),
        evidence: None,
        device: device.map(|d| d.id.clone()),
        reason: reasons.clone(),
        tap_user: None,
        identity: cert_user.clone(),
    };
    if d.access == Access::Deny {
        v.message = if d.locked {
            let why = d
                .lock_message
                .clone()
                .unwrap_or_else(|| "locked by the cluster".into());
            format!("pam-mfa: access for {who} as {login} on {node} is locked: {why}")
        } else {
            format!(
                "pam-mfa: the cluster policy does not allow {who} to log in as {login} on {node}"
            )
        };
        return v;
    }
    let req = d.requirement;
    if req.is_off() {
        v.allow = true;
        v.evidence = Some("none needed".into());
        return v;
    }
    let Some(user) = d.user.clone() else {
        v.message = if d.known_user {
            format!(
                "pam-mfa: {login} on {node} requires MFA ({}) and the login belongs to several cluster users: log in with your registered security key",
                req.name()
            )
        } else {
            format!(
                "pam-mfa: {login} is not a cluster user, and {node} requires MFA ({}) for every session",
                req.name()
            )
        };
        return v;
    };
    if class != ServiceClass::Ssh {
        // No login key counts for sudo, su or a console: only a fresh tap.
        v.message = format!(
            "pam-mfa: {} on {node} requires MFA ({}) for {user}: a tap of your registered security key is needed",
            ctx.service,
            req.name()
        );
        v.reason = format!("{reasons}; class {} needs a fresh tap", class.name());
        v.tap_user = Some(user);
        return v;
    }
    if let Some(c) = &cert {
        let key_class = cert_key_class(c.private_key_policy.as_deref());
        // mfa-verified (checked inside the validity window) is the session
        // MFA; the key policy is about the certified key.
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
                return v;
            }
            Err(missing) => {
                v.message = format!("pam-mfa: {missing}; your certificate does not show it.");
                v.reason = format!("{reasons}; certificate: {missing}");
            }
        }
    }
    let mut login_key_class = KeyClass::None;
    let mut piv_failed: Option<String> = None;
    match registered.iter().find(|(_, dev)| dev.user == user) {
        Some((key, dev)) => {
            let (key_class, note, piv_refusal) = match &dev.kind {
                DeviceKind::Piv(_) => {
                    let traits = cert_user
                        .as_ref()
                        .map(|u| &u.traits)
                        .or_else(|| bundle.users().get(&user).map(|u| &u.traits));
                    piv_login_key_class(state, bundle, dev, traits)
                }
                _ => {
                    let (c, n) = sk_key_class(state, login, key);
                    (c, n, None)
                }
            };
            piv_failed = piv_refusal.clone();
            login_key_class = key_class;
            v.device = Some(dev.id.clone());
            match check(&req, key_class) {
                Ok(()) => {
                    v.allow = true;
                    let kind = match dev.kind {
                        DeviceKind::Piv(_) => "piv",
                        _ => "ssh_sk",
                    };
                    v.evidence = Some(format!("{kind}_{}", key_class.name()));
                    state.reuse.record(
                        &user,
                        login,
                        ctx.rhost.as_deref(),
                        key_class,
                        &dev.id,
                        state.now(),
                    );
                    v.reason = format!(
                        "{reasons}; security key {} ({}) {note}",
                        dev.name,
                        key_class.name()
                    );
                }
                Err(missing) => {
                    v.message = match &piv_refusal {
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
                }
            }
        }
        None => {
            let used_sk = keys.iter().any(|k| k.is_security_key());
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
        }
    }
    if !v.allow {
        // A tap proves the session's MFA (and the touch/PIN it signed); the
        // hardware-key policy of an SSH login is about the login key itself
        // (DESIGN.md), so a tap is offered only when the key already meets it.
        if check(
            &Requirement {
                session: false,
                key_policy: req.key_policy,
            },
            login_key_class,
        )
        .is_ok()
        {
            v.tap_user = Some(user.clone());
        } else if login_key_class == KeyClass::None && piv_failed.is_none() {
            // (A registered key that fell short already says what it lacked.)
            v.message = format!(
                "pam-mfa: {node} requires {} for {user}: log in with a hardware security key of that kind. {}",
                req.key_policy.name(),
                hint(&req)
            );
        }
        let window = state.config.reuse_window;
        let login_key_ok = check(
            &Requirement {
                session: false,
                key_policy: req.key_policy,
            },
            login_key_class,
        )
        .is_ok();
        let reused = state
            .reuse
            .lookup(&user, login, ctx.rhost.as_deref(), window, state.now())
            .filter(|_| login_key_ok)
            .filter(|r| {
                check(
                    &Requirement {
                        session: req.session,
                        key_policy: tap_key_policy(req.key_policy),
                    },
                    r.class,
                )
                .is_ok()
            })
            // A device locked since the tap does not count.
            .filter(|r| !device_locked(state, bundle, login, &user, class, &r.device));
        if let Some(r) = reused {
            v.allow = true;
            v.tap_user = None;
            v.message.clear();
            v.evidence = Some(format!("reuse_{}", r.class.name()));
            v.device = Some(r.device);
            v.reason = format!(
                "{reasons}; a {} tap {}s ago from the same source is reused (reuse_window {}s)",
                r.class.name(),
                r.age.as_secs(),
                window.as_secs()
            );
        }
    }
    v
}

/// The touch/PIN parts of a key policy: what a tap can prove.
pub(super) fn tap_key_policy(kp: crate::policy::KeyPolicy) -> crate::policy::KeyPolicy {
    use crate::policy::KeyPolicy as K;
    match (kp.needs_touch(), kp.needs_pin()) {
        (true, true) => K::HardwareKeyTouchAndPin,
        (true, false) => K::HardwareKeyTouch,
        (false, true) => K::HardwareKeyPin,
        (false, false) => K::None,
    }
}

/// Whether a lock in force covers this device (or anything else of this
/// login) under the given bundle.
pub(super) fn device_locked(
    state: &AgentState,
    bundle: &Bundle,
    login: &str,
    user: &str,
    class: ServiceClass,
    device: &str,
) -> bool {
    let q = LoginQuery {
        node: &state.node,
        login,
        user: Some(user),
        class,
        mfa_device: Some(device),
        now: state.now(),
    };
    decide(bundle, &q).locked
}

/// A certificate's `private-key-policy` as a key class; what this code does
/// not know counts as a file key.
fn cert_key_class(policy: Option<&str>) -> KeyClass {
    match policy {
        Some("hardware_key") => KeyClass::Hardware,
        Some("hardware_key_touch") => KeyClass::Touch,
        Some("hardware_key_pin") => KeyClass::Pin,
        Some("hardware_key_touch_and_pin") => KeyClass::TouchAndPin,
        _ => KeyClass::None,
    }
}

fn hint(req: &Requirement) -> String {
    if req.key_policy.needs_pin() {
        "Use a key made with `ssh-keygen -t ed25519-sk -O verify-required`, registered with the cluster.".into()
    } else {
        "Use a key made with `ssh-keygen -t ed25519-sk`, registered with the cluster.".into()
    }
}

/// The class of a login key that is a registered PIV device: its
/// attestation chain verified against the agent's roots, the slot and the
/// cap's serial number validation (with the user's traits) applied; the
/// class is what the attestation says (touch and PIN policies). A key whose
/// attestation does not hold is a file key, with the reason as the third
/// value.
fn piv_login_key_class(
    state: &AgentState,
    bundle: &Bundle,
    dev: &MfaDevice,
    traits: Option<&std::collections::BTreeMap<String, Vec<String>>>,
) -> (KeyClass, String, Option<String>) {
    let empty = std::collections::BTreeMap::new();
    match state
        .piv
        .device_class(dev, traits.unwrap_or(&empty), &bundle.cap)
    {
        Ok(k) => (
            key_policy_class(k.class),
            format!(
                "(PIV attestation: serial {}, pin {}, touch {})",
                k.attestation
                    .serial
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into()),
                k.attestation.pin_policy.name(),
                k.attestation.touch_policy.name()
            ),
            None,
        ),
        Err(why) => (
            KeyClass::None,
            format!("(PIV attestation refused: {why})"),
            Some(why),
        ),
    }
}

/// A PIV key class (Teleport's private key policy) as a login key class.
pub(super) fn key_policy_class(p: KeyPolicy) -> KeyClass {
    match p {
        KeyPolicy::None => KeyClass::None,
        KeyPolicy::HardwareKey => KeyClass::Hardware,
        KeyPolicy::HardwareKeyTouch => KeyClass::Touch,
        KeyPolicy::HardwareKeyPin => KeyClass::Pin,
        KeyPolicy::HardwareKeyTouchAndPin => KeyClass::TouchAndPin,
    }
}

/// What sshd verified for an accepted security key (see [`super::key_credit`]).
fn sk_key_class(state: &AgentState, login: &str, key: &AcceptedKey) -> (KeyClass, String) {
    super::key_credit::sk_key_class(state, login, key)
}

/// The answer when the policy cannot decide (`why`), audited on `ev`: a stale
/// lock view under `locking_mode: strict` denies whatever the fail mode
/// (Teleport's strict mode); the rest is "policy unknown", where the fail
/// mode decides. `what` names what is refused ("login", "session").
pub(super) fn refuse_unusable(
    state: &AgentState,
    why: &Unusable,
    ev: &mut AuditEvent,
    what: &str,
) -> ResponseBody {
    let open = why.follows_fail_mode() && state.config.fail_mode == FailMode::Open;
    let (result, body) = if open {
        (
            "unavailable",
            ResponseBody::Unavailable {
                message: format!("pam-mfa: {why}"),
            },
        )
    } else {
        let cause = match why {
            Unusable::NoPolicy => "no MFA policy is loaded on this host",
            Unusable::Stale { .. } => "this host's MFA policy is out of date",
            Unusable::LockViewStale { .. } => "this host cannot confirm the cluster's locks",
        };
        (
            "deny",
            ResponseBody::Deny {
                message: format!("pam-mfa: {cause}; {what} refused"),
            },
        )
    };
    if let Some(b) = state.store.current() {
        ev.policy_revision = b.revision.clone();
    }
    ev.result = result.into();
    ev.reason = if why.follows_fail_mode() {
        format!("{why} (fail_mode {:?})", state.config.fail_mode).to_lowercase()
    } else {
        why.to_string()
    };
    state.counters.count(result);
    state.audit(ev);
    body
}
