//! The outcome of one decision: the verdict, its audit and its answer.

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::reuse::ConnectionKey;
use crate::audit::AuditEvent;
use crate::config::FailMode;
use crate::policy::{Requirement, User};
use crate::state::{AgentState, Unusable};

/// Who asked, from SO_PEERCRED, and a root peer's real uid as read through
/// the pidfd that pinned it at accept (`None`: not root, or not read so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIds {
    pub pid: i32,
    pub uid: u32,
    pub real_uid: Option<u32>,
}

#[cfg(test)]
impl PeerIds {
    /// The peer a running process `pid` connecting with effective uid
    /// `uid` is: a root peer's real uid read as at accept.
    pub(crate) fn of_process(pid: i32, uid: u32) -> PeerIds {
        let real_uid = if uid == 0 {
            crate::ipc::pinned_real_uid_of(pid)
        } else {
            None
        };
        PeerIds { pid, uid, real_uid }
    }
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
    /// The cluster users whose tap could still satisfy the login: the one
    /// person decided for, or, for a cluster-managed login whose person is
    /// not known, every candidate the policy allows (the tap says who).
    pub(super) tap_users: Vec<String>,
    /// A verified Teleport certificate's identity, when one decided.
    pub(super) identity: Option<User>,
    /// A trusted cluster's certificate: its own roles, which only locks read.
    pub(super) lock_roles: Vec<String>,
    /// The key or certificate of this connection that identified
    /// `user` (an SSH login's registered key, a verified certificate of
    /// this cluster): a tap is remembered for the reuse window with it.
    pub(super) connection_key: Option<ConnectionKey>,
    /// A refusal that ends a tap because its last try was spent: sent as a
    /// `deny` with `tries_spent`, which the module turns into PAM_MAXTRIES
    /// so sshd ends the connection instead of starting the tap again.
    pub(super) tries_spent: bool,
}

impl Verdict {
    pub(super) fn deny(message: String, reason: String) -> Verdict {
        Verdict {
            allow: false,
            message,
            user: None,
            requirement: None,
            evidence: None,
            device: None,
            reason,
            tap_users: Vec::new(),
            identity: None,
            lock_roles: Vec::new(),
            connection_key: None,
            tries_spent: false,
        }
    }
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
        ResponseBody::Deny {
            message: v.message,
            tries_spent: v.tries_spent,
        }
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

/// The answer when the policy cannot decide (`why`), audited on `ev`: a stale
/// lock view under `locking_mode: strict` denies whatever the fail mode
/// (Teleport's strict mode); the rest is "policy unknown", where the fail
/// mode decides. `what` names what is refused ("login", "session").
pub(super) fn refuse_unusable(
    state: &AgentState,
    why: &Unusable,
    ev: &mut AuditEvent,
    (what, login, lock): (&str, &str, Option<String>),
) -> ResponseBody {
    let open = why.follows_fail_mode() && state.config.fail_mode == FailMode::Open;
    if open {
        if let Some(lock) = lock {
            let node = &state.node.name;
            ev.result = "deny".into();
            ev.reason = format!(
                "{} (fail_mode open), but a lock of the last known policy holds this {what}: {lock}",
                why.to_string().to_lowercase()
            );
            state.counters.count("deny");
            state.audit(ev);
            return ResponseBody::Deny {
                message: format!("pam-mfa: access as {login} on {node} is locked: {lock}"),
                tries_spent: false,
            };
        }
    }
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
            Unusable::Stale { .. } | Unusable::ManifestExpired { strict: false, .. } => {
                "this host's MFA policy is out of date"
            }
            Unusable::ManifestExpired { strict: true, .. } => {
                "this host's MFA policy expired and cannot confirm the cluster's locks"
            }
            Unusable::LockViewStale { .. } => "this host cannot confirm the cluster's locks",
        };
        (
            "deny",
            ResponseBody::Deny {
                message: format!("pam-mfa: {cause}; {what} refused"),
                tries_spent: false,
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
