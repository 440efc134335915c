//! One decision as a pipeline of stages, each in its own file:
//!
//! 1. who is logging in (`who`): registered keys, a Teleport certificate;
//! 2. what the policy requires (`required`): `policy::decide` for that
//!    person, or for the login alone (several candidates, or nobody known);
//! 3. what evidence this authentication carries (`login_key`, a
//!    certificate's key class);
//! 4. whether it satisfies the requirement (`satisfy`), including a reused
//!    tap;
//! 5. what to ask for when it does not (`ask`): a tap by whom, or what key.

use pam_mfa_protocol::PamContext;

use super::ask::{candidates_tap, fresh_tap, tap_or_key};
use super::evidence::KeyClass;
use super::key_rules::cert_key_class;
use super::login_key::login_key;
use super::required::{first_verdict, required};
use super::satisfy::{by_certificate, by_login_key, by_reuse, key_part_class, Asked};
use super::sshd_connection::SshdConnection;
use super::verdict::Verdict;
use super::who::identify;
use crate::policy::{Access, Bundle, ServiceClass};
use crate::state::AgentState;

/// The verdict for one login from the evidence at hand; when a tap could
/// still satisfy it, `tap_users` says whose. `connection`: sshd's
/// connection, as far as known (see [`super::sshd_connection`]).
pub(super) fn evaluate(
    state: &AgentState,
    bundle: &Bundle,
    class: ServiceClass,
    login: &str,
    ctx: &PamContext,
    connection: SshdConnection,
) -> Verdict {
    let auth_info = ctx.ssh_auth_info.as_deref();
    let who = match identify(state, bundle, class, login, auth_info, connection) {
        Ok(who) => who,
        Err(refused) => return *refused,
    };
    let d = required(state, bundle, class, login, &who);
    let mut v = first_verdict(state, login, &d, &who);
    if v.allow || d.access == Access::Deny {
        return v;
    }
    let req = d.requirement;
    let Some(user) = d.user.clone() else {
        candidates_tap(state, &mut v, &d, login, class, &ctx.service);
        return v;
    };
    if class != ServiceClass::Ssh {
        fresh_tap(state, &mut v, &ctx.service, req, vec![user], class);
        return v;
    }
    let reasons = v.reason.clone();
    if let Some(c) = &who.cert {
        if by_certificate(&mut v, c, req, &reasons) {
            return v;
        }
        if c.from_trusted_cluster {
            // This cluster's keys, taps and reuse window belong to its own
            // users, even one of the same name.
            not_ours(state, &mut v, c, &user, &reasons);
            return v;
        }
    }
    let registered = who.registered_keys();
    // What sshd verified for the key is of the account it logged in to
    // (its keys served, its authorized_keys files), which is `login` unless
    // that is another name of the account's uid (`policy_login::uid_alias`).
    let key = login_key(
        state,
        bundle,
        &ctx.user,
        &registered,
        &user,
        who.cert_user.as_ref(),
        connection,
    );
    // Only what this connection presented ties a tap to it (the reuse
    // window): not the login name, which the person was guessed from.
    let connection_key = who.connection_key(&user);
    v.connection_key = connection_key.clone();
    let asked = Asked {
        user: &user,
        login,
        rhost: ctx.rhost.as_deref(),
        class,
        reasons: &reasons,
        key: connection_key.as_ref(),
    };
    let used_sk = who.keys.iter().any(|k| k.is_security_key());
    if by_login_key(state, &mut v, key.as_ref(), req, &asked, used_sk) {
        return v;
    }
    // The key of a certificate of this cluster answers for the hardware-key
    // part as a registered login key would (not for the session's MFA).
    let cert_class = who.cert.as_ref().map_or(KeyClass::None, |c| {
        cert_key_class(c.private_key_policy.as_deref())
    });
    let login_class = key.as_ref().map_or(KeyClass::None, |k| k.class);
    let key_class = key_part_class(&mut v, req, login_class, cert_class);
    let piv_failed = key.as_ref().is_some_and(|k| k.piv_refusal.is_some());
    tap_or_key(state, &mut v, req, key_class, piv_failed, &user);
    by_reuse(state, bundle, &mut v, req, key_class, &asked);
    v
}

/// A trusted cluster's user whose certificate does not satisfy the login:
/// only a certificate their own cluster issued after MFA can.
fn not_ours(
    state: &AgentState,
    v: &mut Verdict,
    c: &crate::verify::ssh_cert::TeleportIdentity,
    user: &str,
    reasons: &str,
) {
    v.message = format!(
        "pam-mfa: {} requires MFA for {user} of trusted cluster {}: log in with a certificate {} issued after MFA (tsh ssh with per-session MFA)",
        state.node.name, c.ca_cluster, c.ca_cluster
    );
    v.reason = format!(
        "{reasons}; a user of trusted cluster {}: this cluster's security keys, taps and reuse window are not theirs",
        c.ca_cluster
    );
}
