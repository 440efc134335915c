//! This node's Teleport host UUID when agent.yaml sets no `node.id`: read
//! from the Teleport node's own record of it, the `host_uuid` file in its
//! data directory.
//!
//! Teleport names a node in lock targets only by that UUID (lib/srv/ctx.go
//! `ComputeLockTargets` adds `{ServerID: serverID}` and `HostFQDN(serverID,
//! clusterName)`; `tctl lock --server-id`), so a node that does not know it
//! is never held by such a lock. Teleport keeps it in
//! `<data_dir>/host_uuid` (lib/utils/hostid `FileName`, `GetPath`,
//! `ReadFile`: the content, whitespace trimmed; empty is none), data_dir
//! defaulting to `/var/lib/teleport` (lib/defaults `DataDir`). Newer
//! Teleport reads it through lib/auth/storage `ReadOrGenerateHostID`, which
//! tries a Kubernetes secret first and falls back to the same file, and
//! writes the file whichever it used (`persistHostIDToStorages`,
//! `PersistAssignedHostID`): on a host, the file is the record. The ID is a
//! random UUID (lib/utils/hostid `Generate`) or, for nodes joined with the
//! EC2 method, `<12-digit AWS account>-i-<hex instance id>`
//! (lib/utils/aws `GetEC2NodeID`, `NodeIDFromIID`).

use std::path::{Path, PathBuf};

use crate::sync::read_private_file;

/// Teleport's default data directory (lib/defaults `DataDir`).
pub const DEFAULT_TELEPORT_DATA_DIR: &str = "/var/lib/teleport";

/// The file's name in the data directory (lib/utils/hostid `FileName`).
pub const HOST_UUID_FILE: &str = "host_uuid";

/// A host ID is a few dozen bytes; anything much larger is not one.
const MAX_HOST_UUID_BYTES: u64 = 1024;

/// Where this node's `node.id` came from, or why it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeIdSource {
    /// agent.yaml's `node.id`.
    AgentYaml,
    /// Teleport's host_uuid file, at this path.
    HostUuidFile(PathBuf),
    /// The last good read of Teleport's host_uuid file at `path`, kept
    /// because reading it again at a reload failed (`failure` says how);
    /// see [`keep_last_good`].
    HostUuidKept { path: PathBuf, failure: String },
    /// None: the sentence says why (no such file, reading is turned off,
    /// or why the file was refused).
    Unset(String),
}

/// `node.id` as the agent uses it, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedNodeId {
    pub id: Option<String>,
    pub source: NodeIdSource,
}

impl ResolvedNodeId {
    /// For logs, `mfactl status` and `mfactl check`: "from agent.yaml
    /// node.id", "from /var/lib/teleport/host_uuid", or why it is unset.
    pub fn describe(&self) -> String {
        match &self.source {
            NodeIdSource::AgentYaml => "from agent.yaml node.id".to_owned(),
            NodeIdSource::HostUuidFile(p) => format!("from Teleport's {}", p.display()),
            NodeIdSource::HostUuidKept { path, failure } => format!(
                "kept from the last good read of Teleport's {}: reading it again failed ({failure})",
                path.display()
            ),
            NodeIdSource::Unset(why) => why.clone(),
        }
    }

    /// One line for the agent's log: the ID and its source, or why there
    /// is none and what that means.
    pub fn summary(&self) -> String {
        match &self.id {
            Some(id) => format!("node.id {id} ({})", self.describe()),
            None => format!(
                "node.id is unset ({}): a server_id/node lock naming this node by its Teleport host UUID does not hold it, only one naming node.name does",
                self.describe()
            ),
        }
    }
}

/// The host ID in `dir`'s host_uuid file: `Ok(None)` when there is no such
/// file (a host that is no Teleport node), an error naming the file when it
/// is there but cannot be used. Read as root reads its own files: the file
/// itself is not followed if a symlink, must be a regular file owned by
/// root (or the agent's user), writable by no one else, and small.
pub fn read_host_uuid(dir: &Path) -> Result<Option<String>, String> {
    let path = dir.join(HOST_UUID_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        Ok(_) => {}
    }
    let bytes = read_private_file(&path, MAX_HOST_UUID_BYTES, true)?;
    parse_host_uuid(&bytes)
        .map(Some)
        .map_err(|why| format!("{} is refused: {why}", path.display()))
}

/// The content of a host_uuid file: trimmed as Teleport trims it, and
/// either a UUID (8-4-4-4-12 hex digits) or an EC2 node ID.
pub fn parse_host_uuid(bytes: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    let id = text.trim();
    if id.is_empty() {
        return Err("it is empty".to_owned());
    }
    if is_uuid(id) || is_ec2_node_id(id) {
        return Ok(id.to_owned());
    }
    let shown: String = id.chars().take(64).flat_map(char::escape_default).collect();
    Err(format!(
        "\"{shown}\" is neither a UUID nor an EC2 node ID (<12-digit account>-i-<hex>)"
    ))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either case.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// lib/utils/aws `IsEC2NodeID`: `^[0-9]{12}-i-[0-9a-f]{8,}$`.
fn is_ec2_node_id(s: &str) -> bool {
    let Some((account, instance)) = s.split_once("-i-") else {
        return false;
    };
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && instance.len() >= 8
        && instance
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `node.id` when set in agent.yaml, else the host ID in `data_dir`'s
/// host_uuid file (`None`: not read).
pub fn resolve_node_id(configured: Option<String>, data_dir: Option<&Path>) -> ResolvedNodeId {
    if let Some(id) = configured {
        return ResolvedNodeId {
            id: Some(id),
            source: NodeIdSource::AgentYaml,
        };
    }
    let unset = |why: String| ResolvedNodeId {
        id: None,
        source: NodeIdSource::Unset(why),
    };
    let Some(dir) = data_dir else {
        return unset(
            "agent.yaml sets none, and node.teleport_data_dir is empty: Teleport's host_uuid is not read"
                .to_owned(),
        );
    };
    match read_host_uuid(dir) {
        Ok(Some(id)) => ResolvedNodeId {
            id: Some(id),
            source: NodeIdSource::HostUuidFile(dir.join(HOST_UUID_FILE)),
        },
        Ok(None) => unset(format!(
            "agent.yaml sets none, and there is no {}",
            dir.join(HOST_UUID_FILE).display()
        )),
        Err(e) => unset(format!("agent.yaml sets none, and {e}")),
    }
}

/// At a reload with the same `node.id` and `node.teleport_data_dir` as
/// the running configuration (`same_settings`): when the file gave an ID
/// before and reading it again gives none, the ID in force stays, with the
/// failure in its source, until a good read or a real change of those
/// settings. An ID dropped for one bad read would let server_id/node locks
/// naming this node by its UUID stop holding. Teleport before the `hostid`
/// package wrote the file in place (lib/utils `WriteHostUUID`:
/// `os.WriteFile`, truncate then write), so a read at that moment finds it
/// empty; newer Teleport renames a whole file into place (lib/utils/hostid
/// `WriteFile`: `renameio.WriteFile`), but an owner or mode change, or a
/// data directory wiped to re-join, leave it unreadable or absent for a
/// while too.
pub fn keep_last_good(
    running: &ResolvedNodeId,
    fresh: ResolvedNodeId,
    same_settings: bool,
) -> ResolvedNodeId {
    let path = match &running.source {
        NodeIdSource::HostUuidFile(p) => p,
        NodeIdSource::HostUuidKept { path, .. } => path,
        _ => return fresh,
    };
    if !same_settings || fresh.id.is_some() || running.id.is_none() {
        return fresh;
    }
    ResolvedNodeId {
        id: running.id.clone(),
        source: NodeIdSource::HostUuidKept {
            path: path.clone(),
            failure: fresh
                .describe()
                .trim_start_matches("agent.yaml sets none, and ")
                .to_owned(),
        },
    }
}

#[cfg(test)]
#[path = "host_uuid_tests.rs"]
mod tests;
