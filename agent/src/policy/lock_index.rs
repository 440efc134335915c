//! Locks by their target fields, for [`super::index::BundleIndex`].

use std::collections::HashMap;
use std::time::SystemTime;

use super::by_name::position;
use super::locks::{holds_every_bot, LockSubject};
use super::resources::Lock;

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
}

impl LockIndex {
    pub(crate) fn build(locks: &[Lock]) -> LockIndex {
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
        ix
    }

    pub(crate) fn find(
        &self,
        locks: &[Lock],
        subject: &LockSubject<'_>,
        now: SystemTime,
    ) -> Option<usize> {
        fn list<'m>(map: &'m HashMap<String, Positions>, key: Option<&str>) -> &'m [u32] {
            key.and_then(|k| map.get(k))
                .map(Vec::as_slice)
                .unwrap_or(&[])
        }
        let by_role = subject
            .roles
            .iter()
            .map(|r| &**r)
            .flat_map(|r| list(&self.by_role, Some(r)));
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
