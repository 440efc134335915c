//! What a request counts against before it is handled: the connection of
//! a root peer traced to a person only through its login uid or ancestors
//! (counted as the system's until its first request, see
//! `person::Accepted::counted_as`), and the pending login a `begin` may
//! become.

use pam_mfa_protocol::{PamHook, RequestBody};

use super::budgets::{ConnectionSlot, PendingSlot};
use super::login_person::{for_login, from_sshd};
use super::peer::Peer;
use super::person::Person;
use crate::audit::Throttled;
use crate::config::ServiceMap;
use crate::policy::ServiceClass;

/// The class of the PAM service a `begin` is about (`None`: another
/// request, or a service the map does not know).
pub(super) fn class_of(services: &ServiceMap, req: &RequestBody) -> Option<ServiceClass> {
    match req {
        RequestBody::Begin { context, .. } => services.class_of(&context.service),
        _ => None,
    }
}

/// At a connection's first request: a connection counted as the system's
/// until now for a root peer traced to `person` counts against `person`
/// from now on, unless the request is sshd's, which stays the system's
/// whoever sshd was started by: a `begin` about a service of the ssh class
/// ([`from_sshd`]), or a root peer's `authorized_keys` (sshd's
/// AuthorizedKeysCommand run as root: one per SSH connection attempt,
/// which anyone who can reach sshd makes). `Err` is the refusal when
/// `person`'s connections are spent. A non-root AuthorizedKeysCommandUser
/// is counted as itself from the start (the system's budget, see
/// `Budgets`), so its requests change nothing here.
pub(super) fn settle_connection(
    slot: &mut ConnectionSlot,
    person: &Person,
    peer: &Peer,
    class: Option<ServiceClass>,
    req: &RequestBody,
) -> Result<(), String> {
    let sshds = match req {
        RequestBody::Begin { .. } => from_sshd(peer.uid, class),
        RequestBody::AuthorizedKeys { .. } => peer.uid == 0,
        _ => false,
    };
    if sshds {
        return Ok(());
    }
    slot.recount(person)
}

/// A `begin` on `connection` may become a login waiting on its person's
/// answer. While one of that person's pending logins is free (and of the
/// host-wide ones it also takes, see `Budgets::pending`), it takes one
/// first (kept while the login waits, released as soon as nothing waits).
/// `Err` says why the login may not wait: its person's pending logins, or
/// the host's, are all taken. The login is still decided, and refused with
/// that reason only if it would wait (`login::MayWait`): a decision that
/// needs no prompt or tap is never refused for the budget.
pub(super) fn admit_login(
    connection: &ConnectionSlot,
    person: &Person,
    peer: &Peer,
    (req, class): (&RequestBody, Option<ServiceClass>),
    held: &Option<PendingSlot>,
) -> Result<Option<PendingSlot>, String> {
    let RequestBody::Begin { context, hook } = req else {
        return Ok(None);
    };
    // Sessions never wait on anyone (`login::handle_begin` decides them at
    // once).
    if matches!(hook, PamHook::OpenSession | PamHook::CloseSession) {
        return Ok(None);
    }
    if held.is_some() {
        return Ok(None);
    }
    let who = for_login(person, peer.uid, class, *hook, context);
    connection.pending(&who).map(Some).map_err(|why| {
        static OVER_BUDGET: Throttled = Throttled::new();
        OVER_BUDGET.write(|| {
            format!(
                "a login of {:?} ({:?}) from pid {} may not wait for an answer: {why}",
                context.user, context.service, peer.pid
            )
        });
        why
    })
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
