//! The resources a certificate from a resource access request may reach,
//! read as Teleport's lib/sshca `DecodeIdentity` reads them from two
//! extensions:
//!
//! - `teleport-allowed-resources` (`types.ResourceIDsFromString`): a JSON
//!   list of `/cluster/kind/name` strings (older Teleport: of `{cluster,
//!   kind, name}` objects). Empty, `null` and `[]` all mean no list.
//!   `DecodeIdentity` drops the sentinel `/__SENTINEL__/node/__SENTINEL__`
//!   (`types.IsSentinelResourceID`), which `Identity.Encode` writes there
//!   when every resource of the request is constrained, so that a node that
//!   reads only this extension reaches nothing.
//! - `teleport-allowed-resource-access-ids`
//!   (`types.ResourceAccessIDsFromString`): `{"resources": [{"id": {cluster,
//!   kind, name}, "constraints": {...}}]}`, each resource with what its
//!   request limited it to (RFD 0228; an `ssh` constraint names the logins
//!   of a node). Empty and `null` mean no list.
//!
//! `DecodeIdentity` prefers the second when it lists anything (every
//! resource of the request is there, constrained or not), else takes the
//! first; neither listing anything: the certificate is not limited. A list
//! that does not parse refuses the certificate, as there.

use serde::Deserialize;
use serde_json::Value;

use super::cert_error::CertError;

/// See the module.
pub const EXT_ALLOWED_RESOURCES: &str = "teleport-allowed-resources";

/// Teleport's `CertExtensionAllowedResourceAccessIDs` (constants.go); see
/// the module.
pub const EXT_ALLOWED_RESOURCE_ACCESS_IDS: &str = "teleport-allowed-resource-access-ids";

/// Teleport's `types.ResourceIDSentinelValue`.
const SENTINEL: &str = "__SENTINEL__";

/// One allowed resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    pub cluster: String,
    pub kind: String,
    pub name: String,
}

/// What a request limited one resource to (Teleport's
/// `ResourceConstraints`, whose `details` is a oneof: one kind per entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceConstraint {
    /// `ssh`: only these logins (lib/services `WithConstraints` wraps the
    /// login matcher of a node's access check with them).
    SshLogins(Vec<String>),
    /// A kind this agent does not apply (`aws_console`, `database`, one
    /// newer than this code): it limits nothing a node knows of here, and
    /// a node it is on cannot be reached (fail closed).
    Other(String),
}

/// One resource of a request, with what the request limited it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAccess {
    pub id: ResourceId,
    /// `None`: what the roles allow on it.
    pub constraint: Option<ResourceConstraint>,
}

/// The resources the certificate is limited to, from the two extensions'
/// values (absent ones `None`), as lib/sshca `DecodeIdentity` chooses them;
/// `None`: not limited.
pub(super) fn decode(
    resources: Option<&str>,
    access_ids: Option<&str>,
) -> Result<Option<Vec<ResourceAccess>>, CertError> {
    let ids: Vec<ResourceId> = match resources {
        Some(json) => parse_resource_ids(json)?
            .into_iter()
            .filter(|id| !is_sentinel(id))
            .collect(),
        None => Vec::new(),
    };
    let access = match access_ids {
        Some(json) => parse_access_ids(json)?,
        None => Vec::new(),
    };
    Ok(if !access.is_empty() {
        Some(access)
    } else if !ids.is_empty() {
        Some(
            ids.into_iter()
                .map(|id| ResourceAccess {
                    id,
                    constraint: None,
                })
                .collect(),
        )
    } else {
        None
    })
}

/// Teleport's `types.IsSentinelResourceID`.
fn is_sentinel(id: &ResourceId) -> bool {
    id.cluster == SENTINEL && id.kind == "node" && id.name == SENTINEL
}

/// `types.ResourceIDsFromString`: empty and `null` are no list.
fn parse_resource_ids(json: &str) -> Result<Vec<ResourceId>, CertError> {
    let bad = |reason: String| bad(EXT_ALLOWED_RESOURCES, reason);
    if json.is_empty() {
        return Ok(Vec::new());
    }
    let entries = match serde_json::from_str(json).map_err(|e| bad(e.to_string()))? {
        Value::Null => Vec::new(),
        Value::Array(entries) => entries,
        _ => return Err(bad("not a JSON list".into())),
    };
    entries
        .into_iter()
        .map(|e| match e {
            Value::String(text) => resource_id_from_string(&text),
            other => id_object(other).and_then(IdObject::checked),
        })
        .collect::<Result<_, _>>()
        .map_err(bad)
}

/// `types.ResourceIDFromString`: `/cluster/kind/name`, the name being the
/// rest (a node's name may hold slashes).
fn resource_id_from_string(text: &str) -> Result<ResourceId, String> {
    let mut parts = text
        .strip_prefix('/')
        .ok_or_else(|| format!("{text:?} does not start with '/'"))?
        .splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(cluster), Some(kind), Some(name)) => IdObject {
            cluster: cluster.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
        }
        .checked(),
        _ => Err(format!("{text:?} is not /cluster/kind/name")),
    }
}

/// A resource id as JSON (`types.ResourceID`'s `cluster`, `kind`, `name`;
/// a Kubernetes `sub_resource` is not a node's and is not read).
#[derive(Deserialize, Default)]
#[serde(default)]
struct IdObject {
    cluster: String,
    kind: String,
    name: String,
}

/// A JSON object (`null`: an empty one) as a resource id. Only an object:
/// serde would also take a positional list.
fn id_object(value: Value) -> Result<IdObject, String> {
    match value {
        Value::Null => Ok(IdObject::default()),
        Value::Object(_) => serde_json::from_value(value).map_err(|e| e.to_string()),
        _ => Err("a resource id is not a JSON object".into()),
    }
}

impl IdObject {
    /// `ResourceID.CheckAndSetDefaults`: cluster, kind and name are set.
    fn checked(self) -> Result<ResourceId, String> {
        for (field, value) in [
            ("cluster", &self.cluster),
            ("kind", &self.kind),
            ("name", &self.name),
        ] {
            if value.is_empty() {
                return Err(format!("a resource id has no {field}"));
            }
        }
        Ok(ResourceId {
            cluster: self.cluster,
            kind: self.kind,
            name: self.name,
        })
    }
}

/// `types.ResourceAccessIDsFromString` and `ResourceAccessIDList`'s
/// `CheckAndSetDefaults`: empty and `null` are no list.
fn parse_access_ids(json: &str) -> Result<Vec<ResourceAccess>, CertError> {
    let bad = |reason: String| bad(EXT_ALLOWED_RESOURCE_ACCESS_IDS, reason);
    if json.is_empty() {
        return Ok(Vec::new());
    }
    let resources = match serde_json::from_str(json).map_err(|e| bad(e.to_string()))? {
        Value::Null => Value::Null,
        Value::Object(mut list) => list.remove("resources").unwrap_or(Value::Null),
        _ => return Err(bad("not a JSON object".into())),
    };
    let entries = match resources {
        Value::Null => Vec::new(),
        Value::Array(entries) => entries,
        _ => return Err(bad("resources is not a JSON list".into())),
    };
    entries
        .into_iter()
        .map(|e| resource_access(e).map_err(bad))
        .collect()
}

/// One `ResourceAccessID`: `{"id": {...}, "constraints": {...}}`.
fn resource_access(entry: Value) -> Result<ResourceAccess, String> {
    let (id, constraints) = match entry {
        Value::Null => (Value::Null, Value::Null),
        Value::Object(mut e) => (
            e.remove("id").unwrap_or(Value::Null),
            e.remove("constraints").unwrap_or(Value::Null),
        ),
        _ => return Err("a resource is not a JSON object".into()),
    };
    let id = id_object(id)?.checked()?;
    let constraint = match constraints {
        Value::Null => None,
        c => Some(constraint(&c).map_err(|why| format!("{}: {why}", id_text(&id)))?),
    };
    Ok(ResourceAccess { id, constraint })
}

/// `/cluster/kind/name`, for messages.
fn id_text(id: &ResourceId) -> String {
    format!("/{}/{}/{}", id.cluster, id.kind, id.name)
}

/// One `ResourceConstraints` (jsonpb with proto field names): `version`
/// (empty or `v1`) and exactly one detail. What Teleport's
/// `ResourceConstraints.CheckAndSetDefaults` refuses (another version, no
/// detail, an `ssh` detail without logins) refuses the certificate, as
/// `DecodeIdentity` does; a detail of another kind is kept by its name.
fn constraint(c: &Value) -> Result<ResourceConstraint, String> {
    let Some(fields) = c.as_object() else {
        return Err("constraints are not a JSON object".into());
    };
    match fields.get("version") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if v.is_empty() || v == "v1" => {}
        Some(v) => return Err(format!("unsupported constraints version {v}")),
    }
    let details: Vec<(&String, &Value)> = fields
        .iter()
        .filter(|(k, v)| k.as_str() != "version" && !v.is_null())
        .collect();
    match details.as_slice() {
        [] => Err("constraints carry no detail".into()),
        [(kind, value)] if kind.as_str() == "ssh" => ssh_logins(value),
        [(kind, _)] => Ok(ResourceConstraint::Other((*kind).clone())),
        _ => Err("constraints carry more than one detail".into()),
    }
}

/// `SSHResourceConstraints`: `{"logins": [...]}`, not empty
/// (`ResourceConstraints_Ssh.Validate`).
fn ssh_logins(value: &Value) -> Result<ResourceConstraint, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ssh {
        #[serde(default)]
        logins: Option<Vec<String>>,
    }
    if !value.is_object() {
        return Err("ssh constraints are not a JSON object".into());
    }
    let ssh: Ssh =
        serde_json::from_value(value.clone()).map_err(|e| format!("ssh constraints: {e}"))?;
    match ssh.logins {
        Some(logins) if !logins.is_empty() => Ok(ResourceConstraint::SshLogins(logins)),
        _ => Err("ssh constraints require logins, none provided".into()),
    }
}

fn bad(name: &str, reason: String) -> CertError {
    CertError::BadExtension {
        name: name.to_owned(),
        reason,
    }
}

#[cfg(test)]
#[path = "allowed_resources_tests.rs"]
mod tests;
