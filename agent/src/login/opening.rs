//! The start every PAM decision shares (`auth`, `account`, `open_session`):
//! the service class, the login the policy is asked about, the policy in
//! force, and the verdict from the evidence at hand.

use std::borrow::Cow;
use std::sync::Arc;

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::pipeline::evaluate;
use super::policy_login::{policy_login, ruser_is_root, uid_alias, AliasOf};
use super::required::required;
use super::sshd_connection::SshdConnection;
use super::verdict::{finish, hook_name, refuse_unusable, PeerIds, Verdict};
use super::who::identify;
use crate::audit::AuditEvent;
use crate::policy::{decide, Bundle, LoginQuery, ServiceClass};
use crate::state::AgentState;

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
    let mut ev = AuditEvent::new("decision", "", &state.node.name, "", String::new());
    ev.hook = Some(hook_name(hook).into());
    ev.service = Some(ctx.service.clone());
    ev.class = Some(class.name().into());
    ev.login = Some(ctx.user.clone());
    ev.rhost = ctx.rhost.clone();
    ev.tty = ctx.tty.clone();
    ev.peer_pid = Some(peer.pid);
    ev.peer_uid = Some(peer.uid);
    let login = match policy_login(class, ctx, peer) {
        Ok(login) => login,
        Err(why) => {
            let v = Verdict::deny(
                "pam-mfa: the invoking user of this action is not known".into(),
                why,
            );
            return Err(Box::new(finish(state, ev, v)));
        }
    };
    ev.login = Some(login.clone());
    let mapped = class_note.is_none();
    if hook == PamHook::Account && roots_own_admin_action(class, mapped, peer, ctx) {
        let mut v = Verdict::deny(String::new(), "invoked by root (real uid 0, PAM_RUSER root or unset): root needs no tap to become anyone, as su's pam_rootok; sudo ran no auth stack for it".into());
        v.allow = true;
        v.evidence = Some("invoked_by_root".into());
        return Err(Box::new(finish(state, ev, v)));
    }
    let bundle = match state.policy_for_login() {
        Ok(bundle) => bundle,
        Err(why) => {
            let auth_info = ctx.ssh_auth_info.as_deref().filter(|_| peer.uid == 0);
            let connection = sshd_connection(peer, auth_info);
            let lock = last_known_lock(state, class, &login, auth_info, connection);
            let asked = (what, login.as_str(), lock);
            return Err(Box::new(refuse_unusable(state, &why, &mut ev, asked)));
        }
    };
    ev.policy_revision = bundle.revision.clone();
    let alias = uid_alias(&bundle, &login, state.now());
    if let Some((message, note)) = alias_refusal(&alias, &login) {
        return Err(Box::new(finish(state, ev, Verdict::deny(message, note))));
    }
    let (login, alias_note) = match alias {
        AliasOf::Cluster { login, note } => (login, Some(note)),
        _ => (login, None),
    };
    ev.login = Some(login.clone());
    let ctx = if peer.uid == 0 {
        Cow::Borrowed(ctx)
    } else {
        Cow::Owned(PamContext {
            ssh_auth_info: None,
            ..ctx.clone()
        })
    };
    // Only sshd's (root's) word on keys is evidence; when there is some,
    // when its connection began bounds what it can have checked.
    let connection = sshd_connection(peer, ctx.ssh_auth_info.as_deref());
    let mut v = evaluate(state, &bundle, class, &login, &ctx, connection);
    for note in [alias_note, class_note].into_iter().flatten() {
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

/// sudo (setuid root) or su run by root itself. sudo runs only the account
/// stack for root (no authentication), so with pam_mfa.so there (NOPASSWD)
/// root's own sudo, cron's and scripts' included, would otherwise be asked
/// for a tap. All of these must hold:
/// - the service is mapped to the admin class (agent.yaml `services` or
///   the built-in map), not an unmapped one that gets admin rules by
///   default: every network daemon (cockpit, xrdp, vsftpd, an sshd under
///   another name) runs as root with real uid 0, and its account line
///   would let in a login that skipped auth, a locked person's too;
/// - PAM_RUSER is `root` (or another name of uid 0), or unset: sudo sets
///   it to the invoking user's name (`sudo_pam_init2`; not at all with
///   `Defaults !pam_ruser`), util-linux su to the name of the login
///   session's user or its real uid (`supam_authenticate`, `xgetlogin`: su
///   from a root shell that alice reached names alice, and is hers);
/// - the peer's real uid is 0, as read through the pidfd that pinned the
///   connecting process at accept (never a fresh look-up by pid, which
///   may name another process by now).
fn roots_own_admin_action(
    class: ServiceClass,
    mapped: bool,
    peer: PeerIds,
    ctx: &PamContext,
) -> bool {
    class == ServiceClass::Admin
        && mapped
        && ruser_is_root(ctx.ruser.as_deref())
        && peer.uid == 0
        && peer.real_uid == Some(0)
}

/// The sshd connection of `peer`, when it sent sshd's word on the keys
/// (`auth_info`, from root only); else nothing is looked up.
fn sshd_connection(peer: PeerIds, auth_info: Option<&str>) -> SshdConnection {
    match auth_info {
        Some(_) if peer.uid == 0 => SshdConnection::of_pam_peer(peer.pid),
        _ => SshdConnection::default(),
    }
}

/// With the policy unusable, the lock of the last known policy that holds
/// this login, if any: Teleport's best_effort keeps using the last lock set
/// it saw (`lockCollector` keeps it when the view goes stale), so under
/// `fail_mode: open` a known lock still denies. Decided as a login is, for
/// the person a registered key or certificate shows, else for the login
/// alone (its user by name, or a lock on any of those it could be).
fn last_known_lock(
    state: &AgentState,
    class: ServiceClass,
    login: &str,
    auth_info: Option<&str>,
    connection: SshdConnection,
) -> Option<String> {
    let bundle = state.store.current()?;
    // A uid the directory did not name, or that several cluster logins
    // share, could be any of them: refused, as a usable policy refuses it
    // (never decided as the login alone, which could miss their locks).
    let alias = uid_alias(&bundle, login, state.now());
    if let Some((message, _)) = alias_refusal(&alias, login) {
        return Some(message);
    }
    let login = match alias {
        AliasOf::Cluster { login, .. } => login,
        _ => login.to_owned(),
    };
    let login = login.as_str();
    let d = match identify(state, &bundle, class, login, auth_info, connection) {
        Ok(who) => required(state, &bundle, class, login, &who),
        Err(_) => decide(
            &bundle,
            &LoginQuery {
                node: &state.node,
                login,
                user: None,
                class,
                mfa_device: None,
                now: state.now(),
                lock_view_stale: state.lock_view_stale(),
            },
        ),
    };
    if d.locked {
        return Some(
            d.lock_message
                .unwrap_or_else(|| "a lock in force matches".to_owned()),
        );
    }
    (!d.locked_candidates.is_empty()).then(|| {
        format!(
            "a lock holds {}, whom this login could be",
            d.locked_candidates_named()
        )
    })
}

/// The refusal (message, audit note) for a login whose uid cannot be
/// placed: shared by several cluster logins, or not named in time by the
/// user database. `None`: the login is itself or one cluster login.
fn alias_refusal(alias: &AliasOf, login: &str) -> Option<(String, String)> {
    match alias {
        AliasOf::Several { note } => Some((
            format!("pam-mfa: {login} shares its uid with several cluster logins"),
            note.clone(),
        )),
        AliasOf::Unanswered { note } => Some((
            format!("pam-mfa: the user database did not answer for {login}'s account"),
            note.clone(),
        )),
        AliasOf::Itself | AliasOf::Cluster { .. } => None,
    }
}
