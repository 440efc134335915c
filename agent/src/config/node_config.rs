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
        if let Some(name) = &self.name {
            check_name(name)?;
        }
        match self.teleport_data_dir() {
            Some(p) if !p.is_absolute() => Err(format!(
                "node.teleport_data_dir {} is not an absolute path (\"\" turns the host_uuid lookup off)",
                p.display()
            )),
            _ => Ok(()),
        }
    }
}

/// The node's name goes into every challenge (`pmfa1:NODE:LOGIN:NONCE`),
/// which the approval page and `mfactl tap` split at `:` and find between
/// spaces: a name they cannot carry would make every tap impossible.
fn check_name(name: &str) -> Result<(), String> {
    let bad = name
        .chars()
        .find(|&c| c == ':' || c.is_whitespace() || c.is_control());
    if name.is_empty() || name.len() > 255 || bad.is_some() {
        return Err(format!(
            "node.name {name:?} cannot be carried in a challenge (pmfa1:NODE:LOGIN:NONCE): it must be 1 to 255 bytes, with no ':', whitespace or control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn a_node_name_the_challenge_cannot_carry_is_refused() {
        for bad in ["prod:3", "prod 3", "prod\t3", "", "prod\u{85}3"] {
            let e = check_name(bad).expect_err(bad);
            assert!(e.contains("node.name"), "{e}");
        }
        assert!(check_name(&"n".repeat(256)).is_err());
        for good in [
            "prod3",
            "ip-10-0-0-1.ec2.internal",
            "7c2f1a3e-uuid",
            &"n".repeat(255),
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
    }
}
