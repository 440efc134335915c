//! Teleport's locking mode for one login (lib/services/role.go
//! `RoleSet.LockingMode`): `strict` denies while the host cannot show its
//! view of the cluster's locks is current; `best_effort` decides with the
//! view it has.

use super::bundle::Bundle;
use super::query::{Access, Decision, LoginQuery};
use super::resources::Role;

/// The locking mode of a login by a holder of `roles`: the cap's
/// `locking_mode`, unless a role sets `options.lock`: any `strict` makes it
/// strict, else a `best_effort` makes it best effort (even under a strict
/// cap, as in Teleport).
pub(super) fn is_strict(bundle: &Bundle, roles: &[&Role]) -> bool {
    let mut mode = bundle.cap.locking_mode.as_str();
    for role in roles {
        match role.lock.as_str() {
            "strict" => return true,
            "" => {}
            other => mode = other,
        }
    }
    mode == "strict"
}

/// Denies `decision` when the lock view is stale (`q.lock_view_stale`) and
/// the login's locking mode is strict: Teleport refuses such a login when
/// its lock watcher is not known to be current. It counts as locked, so on
/// a login that maps to several users that one is not asked, and the
/// others must show who logs in (`resolve::decide_several`).
pub(super) fn apply_stale_lock_view(
    bundle: &Bundle,
    q: &LoginQuery<'_>,
    roles: &[&Role],
    decision: &mut Decision,
) {
    if !q.lock_view_stale || decision.locked || !is_strict(bundle, roles) {
        return;
    }
    decision.access = Access::Deny;
    decision.locked = true;
    decision.lock_message =
        Some("this host cannot confirm the cluster's locks (locking_mode strict)".to_owned());
    decision.reasons.push(
        "the view of the cluster's locks is older than cluster.lock_view_max_age and this login's locking mode is strict (the cap's locking_mode, or a role's options.lock): access denied"
            .to_owned(),
    );
}
