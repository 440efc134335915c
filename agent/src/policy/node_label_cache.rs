//! Each role's `node_labels` matched against this node once, when they hold
//! no trait template.
//!
//! A literal selector gives the same outcome for every user, so matching it
//! at every login only re-read the role's label strings. In a large bundle
//! those are cold memory: with 10,000 roles they were a quarter of the cache
//! misses of a decision (BENCHMARKS.md). The outcomes are kept per bundle,
//! for the first node asked about: the agent works them out for its own node
//! before it installs a bundle ([`super::Bundle::prepare_for_node`]); other
//! callers fill them as roles are asked about. Any other node (the agent's
//! labels changed by a configuration reload, until the next bundle) is
//! matched at every login, as a selector with a template always is.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::by_name::ByName;
use super::label_traits::{apply_label_traits, is_literal};
use super::labels::{match_applied, LabelMatch, Labels, Side};
use super::prefetch::prefetch;
use super::resources::{Role, Traits};
use super::role_facts::RoleFacts;

/// One role's literal selectors against the node: `None` for a side whose
/// selector has a template (it depends on the user). Beside them, what
/// else a decision asks of the role, so that a role that cannot allow a
/// login here is mostly decided without its record.
#[derive(Debug)]
pub(super) struct RoleLabels {
    pub(super) allow: Option<LabelMatch>,
    pub(super) deny: Option<LabelMatch>,
    pub(super) facts: RoleFacts,
}

impl RoleLabels {
    fn of(role: &Role, node: &BTreeMap<String, String>) -> RoleLabels {
        let outcome = |side: Side, selector: &Labels| {
            is_literal(selector).then(|| {
                let mut notes = Vec::new();
                let applied =
                    apply_label_traits(&role.name, side, selector, &Traits::default(), &mut notes);
                debug_assert!(notes.is_empty(), "a literal selector notes nothing");
                match_applied(&applied, node, side)
            })
        };
        RoleLabels {
            allow: outcome(Side::Allow, &role.allow.node_labels),
            deny: outcome(Side::Deny, &role.deny.node_labels),
            facts: RoleFacts::of(role),
        }
    }
}

/// The outcomes for one bundle's roles (by position) on one node.
pub(crate) struct NodeLabelCache {
    node: OnceLock<BTreeMap<String, String>>,
    roles: Box<[OnceLock<RoleLabels>]>,
}

impl NodeLabelCache {
    /// An empty cache for `roles` roles.
    pub(crate) fn new(roles: usize) -> NodeLabelCache {
        NodeLabelCache {
            node: OnceLock::new(),
            roles: (0..roles).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Works out every role's outcomes on the node with these labels, unless
    /// the cache is already another node's.
    pub(super) fn fill(&self, roles: &ByName<Role>, node: &BTreeMap<String, String>) {
        if self.node.get_or_init(|| node.clone()) != node {
            return;
        }
        for (slot, role) in self.roles.iter().zip(roles.values()) {
            slot.get_or_init(|| RoleLabels::of(role, node));
        }
    }

    /// Asks the CPU for the line of the outcomes of the role at `position`.
    pub(super) fn prefetch(&self, position: u32) {
        if let Some(slot) = self.roles.get(position as usize) {
            prefetch(slot);
        }
    }

    /// The outcomes of `role` (at `position` among the bundle's roles) on
    /// the node with these labels, or `None` when this cache is another
    /// node's (the first node asked about owns it).
    pub(super) fn get(
        &self,
        position: u32,
        role: &Role,
        node: &BTreeMap<String, String>,
    ) -> Option<&RoleLabels> {
        if self.node.get_or_init(|| node.clone()) != node {
            return None;
        }
        let slot = self.roles.get(position as usize)?;
        Some(slot.get_or_init(|| RoleLabels::of(role, node)))
    }
}

/// A copy starts empty: it is derived data, found again on demand.
impl Clone for NodeLabelCache {
    fn clone(&self) -> Self {
        NodeLabelCache::new(self.roles.len())
    }
}

impl std::fmt::Debug for NodeLabelCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLabelCache")
            .field("node", &self.node.get())
            .field("roles", &self.roles.len())
            .finish()
    }
}
