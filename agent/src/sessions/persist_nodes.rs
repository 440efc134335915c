//! How a session record keeps the nodes its certificate's resource access
//! request may reach. Older agents wrote a list of names; a name alone is
//! still an unconstrained node, so their records read as before.

use serde::{Deserialize, Serialize};

use crate::policy::{AllowedNode, NodeLimit};

/// One node, as the record keeps it.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum RecordedNode {
    /// Any login its roles allow (all an older agent wrote).
    Name(String),
    /// Only these logins.
    Logins { name: String, logins: Vec<String> },
    /// A constraint the agent does not apply: not reached.
    Unsupported { name: String, unsupported: String },
}

pub(super) fn recorded(nodes: &[AllowedNode]) -> Vec<RecordedNode> {
    nodes
        .iter()
        .map(|n| match &n.limit {
            NodeLimit::Unconstrained => RecordedNode::Name(n.name.clone()),
            NodeLimit::Logins(logins) => RecordedNode::Logins {
                name: n.name.clone(),
                logins: logins.clone(),
            },
            NodeLimit::Unsupported(what) => RecordedNode::Unsupported {
                name: n.name.clone(),
                unsupported: what.clone(),
            },
        })
        .collect()
}

pub(super) fn allowed(nodes: Vec<RecordedNode>) -> Vec<AllowedNode> {
    nodes
        .into_iter()
        .map(|n| match n {
            RecordedNode::Name(name) => AllowedNode {
                name,
                limit: NodeLimit::Unconstrained,
            },
            RecordedNode::Logins { name, logins } => AllowedNode {
                name,
                limit: NodeLimit::Logins(logins),
            },
            RecordedNode::Unsupported { name, unsupported } => AllowedNode {
                name,
                limit: NodeLimit::Unsupported(unsupported),
            },
        })
        .collect()
}
