//! Locks by their target fields, for [`super::index::BundleIndex`].

use std::collections::HashMap;
use std::time::SystemTime;

use super::by_name::{position, ByName};
use super::locks::{holds_every_bot, LockSubject};
use super::resources::{Lock, Role};

type Positions = Vec<u32>;

/// Locks by their target fields: a lock sits in the list of EVERY field it
/// sets (any one of them locks a session, as in Teleport), so a lookup
/// visits only locks that name something the login has.
#[derive(Clone, Default)]
pub(crate) struct LockIndex {
    by_user: HashMap<String, Positions>,
    by_role: HashMap<String, Positions>,
    by_login: HashMap<String, Positions>,
    by_node: HashMap<String, Positions>,
    by_server_id: HashMap<String, Positions>,
    by_mfa_device: HashMap<String, Positions>,
    by_device: HashMap<String, Positions>,
    by_access_request: HashMap<String, Positions>,
    by_bot_instance_id: HashMap<String, Positions>,
    by_join_token_sha256: HashMap<String, Positions>,
    /// Locks that may hold a bot certificate they cannot tell apart (see
    /// `holds_every_bot`).
    every_bot: Positions,
    /// Per role of the bundle (by position, 64 to a word): whether some
    /// lock names it. A bundle user's roles are asked about by position, so
    /// a decision reads no role name (on a large bundle, each a cache miss)
    /// unless a lock names that role.
    locked_roles: Box<[u64]>,
}

impl LockIndex {
    pub(crate) fn build(locks: &[Lock], roles: &ByName<Role>) -> LockIndex {
        let mut ix = LockIndex::default();
        for (i, lock) in locks.iter().enumerate() {
            let t = &lock.target;
            for (field, map) in [
                (&t.user, &mut ix.by_user),
                (&t.role, &mut ix.by_role),
                (&t.login, &mut ix.by_login),
                (&t.node, &mut ix.by_node),
                (&t.server_id, &mut ix.by_server_id),
                (&t.mfa_device, &mut ix.by_mfa_device),
                (&t.device, &mut ix.by_device),
                (&t.access_request, &mut ix.by_access_request),
                (&t.bot_instance_id, &mut ix.by_bot_instance_id),
                (&t.join_token_sha256, &mut ix.by_join_token_sha256),
            ] {
                if let Some(v) = field {
                    let list = map.entry(v.clone()).or_default();
                    if list.last() != Some(&position(i)) {
                        list.push(position(i));
                    }
                }
            }
            if holds_every_bot(t) {
                ix.every_bot.push(position(i));
            }
            // `<host UUID>.<cluster>` (HostFQDN) also sits under each
            // prefix before a dot, where a lookup by the node's UUID finds it.
            for (field, map) in [
                (&t.node, &mut ix.by_node),
                (&t.server_id, &mut ix.by_server_id),
            ] {
                let Some(v) = field else { continue };
                for (dot, _) in v.match_indices('.') {
                    let list = map.entry(v[..dot].to_owned()).or_default();
                    if list.last() != Some(&position(i)) {
                        list.push(position(i));
                    }
                }
            }
        }
        let mut locked_roles = vec![0u64; roles.len().div_ceil(64)];
        for (p, role) in roles.values().enumerate() {
            if ix.by_role.contains_key(&role.name) {
                locked_roles[p / 64] |= 1 << (p % 64);
            }
        }
        ix.locked_roles = locked_roles.into_boxed_slice();
        ix
    }

    /// Whether some lock may name the role at bundle position `p`.
    fn role_locked(&self, p: u32) -> bool {
        let p = p as usize;
        self.locked_roles
            .get(p / 64)
            .is_none_or(|w| w & (1 << (p % 64)) != 0)
    }

    /// The first lock (by position) in force at `now` that holds
    /// `subject`. `role_positions`, when given, are the positions in the
    /// bundle's roles of `subject.roles` (`None` for one it lacks), one
    /// for each: a role there that no lock names is not looked up.
    pub(crate) fn find(
        &self,
        locks: &[Lock],
        subject: &LockSubject<'_>,
        role_positions: Option<&mut dyn Iterator<Item = Option<u32>>>,
        now: SystemTime,
    ) -> Option<usize> {
        fn list<'m>(map: &'m HashMap<String, Positions>, key: Option<&str>) -> &'m [u32] {
            key.and_then(|k| map.get(k))
                .map(Vec::as_slice)
                .unwrap_or(&[])
        }
        // By position when known: only the roles some lock names are looked
        // up by name.
        let (by_position, by_name) = match role_positions {
            Some(positions) => (Some(positions), None),
            None => (None, Some(subject.roles.iter().map(|r| &**r))),
        };
        let role_names = by_position
            .into_iter()
            .flat_map(|positions| {
                positions
                    .enumerate()
                    .filter(|(_, p)| p.is_none_or(|p| self.role_locked(p)))
                    .filter_map(|(i, _)| subject.roles.get(i).map(|r| &**r))
            })
            .chain(by_name.into_iter().flatten());
        let by_role = role_names.flat_map(|r| list(&self.by_role, Some(r)));
        let by_node = subject.node_names().flat_map(|n| {
            list(&self.by_node, Some(n))
                .iter()
                .chain(list(&self.by_server_id, Some(n)))
        });
        list(&self.by_user, subject.user)
            .iter()
            .chain(by_role)
            .chain(list(&self.by_login, Some(subject.login)))
            .chain(by_node)
            .chain(list(&self.by_mfa_device, subject.mfa_device))
            .chain(list(&self.by_mfa_device, subject.cert_mfa_device))
            .chain(list(&self.by_device, subject.device))
            .chain(
                subject
                    .access_requests
                    .iter()
                    .flat_map(|r| list(&self.by_access_request, Some(r))),
            )
            .chain(list(&self.by_bot_instance_id, subject.bot_instance_id))
            .chain(list(&self.by_join_token_sha256, subject.join_token_sha256))
            .chain(if subject.bot {
                self.every_bot.as_slice()
            } else {
                &[]
            })
            .map(|&p| p as usize)
            .filter(|&p| locks[p].is_in_force(now) && locks[p].matches(subject))
            .min()
    }
}
