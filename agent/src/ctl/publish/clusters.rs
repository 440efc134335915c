//! Which cluster's certificate authorities are published.
//!
//! `tctl get cert_authority` also prints the CAs of trusted clusters (a leaf
//! shows its root's user CA). The hosts a publisher serves trust only this
//! cluster's certificates: only its CAs are published, named by
//! `--cluster-name`, or the only cluster the CAs name; with several and no
//! `--cluster-name`, the publication stops. (An agent reading raw tctl
//! output maps a trusted cluster's certificates through its CA's `role_map`
//! instead, see `login::remote_cluster`.)

use serde_json::Value;

use crate::policy::Bundle;

/// This cluster's name, when the input has CAs at all.
pub(crate) fn local_cluster(input: &Bundle, given: Option<&str>) -> Result<Option<String>, String> {
    let mut names: Vec<&str> = input
        .cert_authorities()
        .iter()
        .map(|c| c.cluster_name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    match (given, names.as_slice()) {
        (Some(g), []) => Ok(Some(g.to_owned())),
        (Some(g), _) if names.contains(&g) => Ok(Some(g.to_owned())),
        (Some(g), _) => Err(format!(
            "--cluster-name {g}: the input's certificate authorities belong to {} only",
            names.join(", ")
        )),
        (None, []) => Ok(None),
        (None, [one]) => Ok(Some((*one).to_owned())),
        (None, several) => Err(format!(
            "the input holds certificate authorities of {} clusters ({}): a trusted cluster's are among them. Give --cluster-name with this cluster's name: only its CAs are published, as the hosts it serves trust only this cluster's certificates",
            several.len(),
            several.join(", ")
        )),
    }
}

/// The cluster a `cert_authority` document belongs to: `spec.cluster_name`,
/// else `metadata.name` (as the agent reads it).
pub(crate) fn ca_cluster(value: &Value) -> &str {
    value
        .pointer("/spec/cluster_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| value.pointer("/metadata/name").and_then(Value::as_str))
        .unwrap_or_default()
}
