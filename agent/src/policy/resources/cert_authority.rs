//! `kind: cert_authority` (v2): the cluster's CAs. Read best effort; only
//! `type: user` CAs (to trust Teleport-issued SSH user certificates) and
//! this cluster's `type: openssh` CA (the certificates Teleport's proxy
//! logs in to agentless nodes with) are used.

use base64::Engine as _;
use serde::Deserialize;

use super::common::{v2, Metadata};

/// A certificate authority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertAuthority {
    /// `spec.cluster_name` (else `metadata.name`).
    pub cluster_name: String,
    /// `spec.type`: `user`, `host`, `db`, ...
    pub ca_type: String,
    /// The SSH public keys, as authorized_keys lines (`ssh-ed25519 AAAA...`),
    /// from `spec.active_keys.ssh[].public_key` (stored base64-encoded by
    /// Teleport) and the legacy `spec.checking_keys`.
    pub ssh_public_keys: Vec<String>,
    /// How a trusted cluster's roles map to this cluster's: Teleport's
    /// `CertAuthorityV2.CombinedMapping` (`spec.roles` as one wildcard
    /// mapping when set, else `spec.role_map`). Empty for this cluster's
    /// own CAs.
    pub role_map: Vec<RoleMapping>,
}

/// One `role_map` entry: remote roles matching `remote` (a name, a glob
/// with `*`, or a `^...$` regex) become the `local` roles (`$1` expands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    pub remote: String,
    pub local: Vec<String>,
}

/// `CombinedMapping` read loosely from the spec: entries that are not
/// objects with a string `remote` are kept as an empty remote, which the
/// mapping refuses (as Teleport's `parseRoleMap` does); a `roles` or
/// `role_map` that is not a list is such an entry too, never "no mapping"
/// (which would make the CA this cluster's).
fn combined_mapping(spec: &serde_json::Value) -> Vec<RoleMapping> {
    let malformed = |key: &str| spec.get(key).is_some_and(|v| !v.is_null() && !v.is_array());
    if malformed("roles") || malformed("role_map") {
        return vec![RoleMapping {
            remote: String::new(),
            local: Vec::new(),
        }];
    }
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let roles = strings(spec.get("roles"));
    if !roles.is_empty() {
        return vec![RoleMapping {
            remote: "*".into(),
            local: roles,
        }];
    }
    let entries = spec.get("role_map").and_then(|m| m.as_array());
    entries
        .into_iter()
        .flatten()
        .map(|e| RoleMapping {
            remote: e
                .get("remote")
                .and_then(|r| r.as_str())
                .unwrap_or("")
                .to_owned(),
            local: strings(e.get("local")),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub(crate) struct CertAuthorityDoc {
    #[serde(rename = "version", deserialize_with = "v2")]
    _version: String,
    metadata: Metadata,
    /// Read loosely: a CA we cannot fully make sense of must not break a bundle.
    #[serde(default)]
    spec: Option<serde_json::Value>,
}

/// An authorized_keys line, from Teleport's base64 of it (or the line itself).
fn key_line(value: &str) -> Option<String> {
    let looks_like_line = |s: &str| {
        let mut parts = s.split_whitespace();
        matches!((parts.next(), parts.next()), (Some(t), Some(_)) if t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-"))
    };
    let value = value.trim();
    if looks_like_line(value) {
        return Some(value.to_owned());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let text = text.trim();
    looks_like_line(text).then(|| text.to_owned())
}

impl CertAuthorityDoc {
    pub(crate) fn into_cert_authority(self) -> CertAuthority {
        let spec = self.spec.unwrap_or(serde_json::Value::Null);
        let str_at = |key: &str| {
            spec.get(key)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        // Teleport trusts both key sets (`GetTrustedSSHKeyPairs`): during a
        // CA rotation, certificates of the other phase are signed by a key
        // in `additional_trusted_keys`.
        let mut keys = Vec::new();
        for set in ["active_keys", "additional_trusted_keys"] {
            let pairs = spec
                .get(set)
                .and_then(|k| k.get("ssh"))
                .and_then(|s| s.as_array());
            for pair in pairs.into_iter().flatten() {
                if let Some(line) = pair
                    .get("public_key")
                    .and_then(|v| v.as_str())
                    .and_then(key_line)
                {
                    keys.push(line);
                }
            }
        }
        if let Some(legacy) = spec.get("checking_keys").and_then(|v| v.as_array()) {
            for v in legacy {
                if let Some(line) = v.as_str().and_then(key_line) {
                    keys.push(line);
                }
            }
        }
        keys.dedup();
        CertAuthority {
            cluster_name: str_at("cluster_name").unwrap_or(self.metadata.name),
            ca_type: str_at("type").unwrap_or_default(),
            ssh_public_keys: keys,
            role_map: combined_mapping(&spec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_from_teleport_base64() {
        let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== teleport";
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{line}\n"));
        assert_eq!(key_line(&b64).as_deref(), Some(line));
        assert_eq!(key_line(line).as_deref(), Some(line));
        assert_eq!(key_line("bm90IGEga2V5"), None);
        assert_eq!(key_line("%%%"), None);
    }

    #[test]
    fn keys_of_a_rotation_in_progress_are_trusted_too() {
        let active = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== new";
        let old = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB== old";
        let b64 = |l: &str| base64::engine::general_purpose::STANDARD.encode(l);
        let doc: CertAuthorityDoc = serde_json::from_value(serde_json::json!({
            "version": "v2", "metadata": {"name": "c"},
            "spec": {"type": "user", "cluster_name": "c",
                "active_keys": {"ssh": [{"public_key": b64(active)}]},
                "additional_trusted_keys": {"ssh": [{"public_key": b64(old)}]}}
        }))
        .unwrap();
        assert_eq!(doc.into_cert_authority().ssh_public_keys, [active, old]);
    }

    #[test]
    fn a_trusted_clusters_role_map_is_read_as_teleports_combined_mapping() {
        let read = |spec: serde_json::Value| {
            let doc: CertAuthorityDoc = serde_json::from_value(serde_json::json!({
                "version": "v2", "metadata": {"name": "root"}, "spec": spec
            }))
            .unwrap();
            doc.into_cert_authority().role_map
        };
        let mapping = |remote: &str, local: &[&str]| RoleMapping {
            remote: remote.into(),
            local: local.iter().map(|s| s.to_string()).collect(),
        };
        // spec.roles wins over role_map (CertAuthorityV2.CombinedMapping).
        assert_eq!(
            read(serde_json::json!({"type": "user", "roles": ["access"],
                "role_map": [{"remote": "x", "local": ["y"]}]})),
            [mapping("*", &["access"])]
        );
        assert_eq!(
            read(serde_json::json!({"type": "user",
                "role_map": [{"remote": "admin", "local": ["access", "auditor"]}, {"local": ["z"]}]})),
            [
                mapping("admin", &["access", "auditor"]),
                mapping("", &["z"])
            ]
        );
        assert_eq!(read(serde_json::json!({"type": "user"})), []);
        let refused = [mapping("", &[])];
        assert_eq!(
            read(serde_json::json!({"type": "user", "roles": "access"})),
            refused
        );
        assert_eq!(
            read(serde_json::json!({"type": "user", "role_map": {"remote": "a"}})),
            refused
        );
    }
}
