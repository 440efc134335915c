//! Extension `teleport-allowed-resources`: the resources a certificate from
//! a resource access request may reach (Teleport's
//! `ExtractAllowedResourcesFromCert`, `types.ResourceIDsFromString`). Newer
//! Teleport writes a JSON list of `/cluster/kind/name` strings, older a JSON
//! list of `{cluster, kind, name}` objects.

use serde::Deserialize;

use super::cert_error::CertError;

/// See the module.
pub const EXT_ALLOWED_RESOURCES: &str = "teleport-allowed-resources";

/// Newer Teleport's resource list, with per-resource constraints (which
/// logins a node request allows). Not read here: only the resources in
/// [`EXT_ALLOWED_RESOURCES`] are reached, so a node named only in this list
/// (Teleport leaves a placeholder in the older one when every entry is
/// constrained) is not, and a certificate that carries this list without
/// the older one reaches no node (fail closed) rather than being taken as
/// unlimited.
pub const EXT_ALLOWED_RESOURCE_ACCESS_IDS: &str = "teleport-allowed-resource-access-ids";

/// One allowed resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    pub cluster: String,
    pub kind: String,
    pub name: String,
}

/// The list the extension holds; an error (the certificate is refused, as
/// Teleport refuses it) when it is not one of the two forms.
pub(super) fn parse(json: &str) -> Result<Vec<ResourceId>, CertError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Text(String),
        Object {
            #[serde(default)]
            cluster: String,
            #[serde(default)]
            kind: String,
            #[serde(default)]
            name: String,
        },
    }
    let bad = |reason: String| CertError::BadExtension {
        name: EXT_ALLOWED_RESOURCES.to_owned(),
        reason,
    };
    let entries: Vec<Entry> = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    entries
        .into_iter()
        .map(|e| match e {
            Entry::Object {
                cluster,
                kind,
                name,
            } => Ok(ResourceId {
                cluster,
                kind,
                name,
            }),
            Entry::Text(text) => {
                let mut parts = text
                    .strip_prefix('/')
                    .ok_or_else(|| bad(format!("{text:?} does not start with '/'")))?
                    .splitn(3, '/');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(cluster), Some(kind), Some(name)) => Ok(ResourceId {
                        cluster: cluster.to_owned(),
                        kind: kind.to_owned(),
                        name: name.to_owned(),
                    }),
                    _ => Err(bad(format!("{text:?} is not /cluster/kind/name"))),
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_refusals() {
        let node = |c: &str, n: &str| ResourceId {
            cluster: c.into(),
            kind: "node".into(),
            name: n.into(),
        };
        assert_eq!(
            parse(r#"["/root/node/uuid-1","/root/kube_cluster/k/ns/pod"]"#).unwrap(),
            vec![
                node("root", "uuid-1"),
                ResourceId {
                    cluster: "root".into(),
                    kind: "kube_cluster".into(),
                    name: "k/ns/pod".into()
                }
            ]
        );
        assert_eq!(
            parse(r#"[{"cluster":"root","kind":"node","name":"uuid-2"}]"#).unwrap(),
            vec![node("root", "uuid-2")]
        );
        assert_eq!(parse("[]").unwrap(), vec![]);
        for bad in [r#"["root/node/x"]"#, r#"["/root/node"]"#, "{}", "nope"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
