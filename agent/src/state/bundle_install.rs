//! Putting a good bundle in force: the one way both a load (a reload, a
//! pull) and the start from the last-known-good cache take, under the
//! sync book's lock, so a `mfactl forget-user` cannot fall between working
//! out the vanished users and installing them.

use std::sync::Arc;
use std::time::SystemTime;

use super::agent_state::{AgentState, SyncBook};
use super::audit_trail::audit;
use super::policy_store::Provenance;
use crate::name_list::first_names;
use crate::policy::{unjudged_node_locks, Bundle};

/// Installs `bundle` in place of `previous` (at `now`, the source last
/// confirmed at `contact`): with the vanished users, prepared for this
/// node, the node locks it cannot judge logged (at each install), and
/// sessions re-decided. `_book` is the sync book's guard: the caller holds
/// it across.
pub(super) fn put_in_force(
    state: &AgentState,
    _book: &SyncBook,
    previous: Option<&Bundle>,
    bundle: Arc<Bundle>,
    provenance: Provenance,
    contact: SystemTime,
    now: SystemTime,
) {
    with_vanished_users(state, previous, &bundle, now);
    // Here, on the reloading thread, rather than at the first logins.
    let node = state.node.get();
    bundle.prepare_for_node(node);
    let unjudged = unjudged_node_locks(bundle.locks(), &node.name, node.id.as_deref(), now);
    if let Some(w) = unjudged {
        // Logged at each install; not one of the bundle's own warnings
        // (`Bundle::warnings`), which are about what it holds.
        eprintln!("mfa-agent: warning: {w}");
    }
    state.store.install_from(bundle, provenance, contact, now);
    crate::sessions::enforce(state);
}

/// Installs with `bundle` the users earlier bundles held and it does not
/// (the set is swapped in, the bundle never copied, even when it is the
/// one in force, shared); those that vanished now are audited
/// (`users_vanished`).
pub(super) fn with_vanished_users(
    state: &AgentState,
    previous: Option<&Bundle>,
    bundle: &Bundle,
    now: SystemTime,
) {
    let (vanished, new_names) = state.vanished.on_install(previous, bundle, now);
    bundle.set_vanished(vanished);
    if !new_names.is_empty() {
        let reason = format!(
            "{} cluster user(s) the policy held are no longer in it ({}): their logins are denied as those of users Teleport deleted, until a bundle holds them again",
            new_names.len(),
            first_names(&new_names, 8, ", ")
        );
        eprintln!("mfa-agent: {reason}");
        audit(state, "users_vanished", "ok", &bundle.revision, reason);
    }
}
