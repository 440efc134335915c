//! `node:` in agent.yaml: this host as Teleport names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::host_uuid::DEFAULT_TELEPORT_DATA_DIR;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's name (Teleport's node name); the host name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The Teleport host UUID of this node, matched by `server_id`/`node`
    /// lock targets beside the name. When absent, read from Teleport's
    /// host_uuid file in `teleport_data_dir`.
    #[serde(default)]
    pub id: Option<String>,
    /// The Teleport node's data directory, whose `host_uuid` gives `id`
    /// when agent.yaml does not; default `/var/lib/teleport`, empty: not read.
    #[serde(default)]
    pub teleport_data_dir: Option<PathBuf>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl NodeConfig {
    /// Where Teleport's host_uuid is read from; `None` when turned off
    /// (`teleport_data_dir: ""`).
    pub fn teleport_data_dir(&self) -> Option<&Path> {
        match &self.teleport_data_dir {
            None => Some(Path::new(DEFAULT_TELEPORT_DATA_DIR)),
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p),
        }
    }

    pub fn check(&self) -> Result<(), String> {
        match self.teleport_data_dir() {
            Some(p) if !p.is_absolute() => Err(format!(
                "node.teleport_data_dir {} is not an absolute path (\"\" turns the host_uuid lookup off)",
                p.display()
            )),
            _ => Ok(()),
        }
    }
}
