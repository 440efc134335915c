//! `node:` in agent.yaml: this host as Teleport names it.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's name (Teleport's node name); the host name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The Teleport host UUID of this node, matched by `server_id`/`node`
    /// lock targets beside the name.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}
