//! `kind: lock` (v2): who or what is locked out, until when.

use std::fmt;
use std::time::SystemTime;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::common::{v2, Metadata, Rfc3339Time};

/// A Teleport lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// `metadata.name`.
    pub name: String,
    /// `spec.target`.
    pub target: LockTarget,
    /// `spec.message`, shown to whoever is locked out.
    pub message: Option<String>,
    /// `spec.expires`; `None` means until removed.
    pub expires: Option<SystemTime>,
}

/// `spec.target`: ANY field present that equals the login's locks it (see
/// `Lock::matches`). Empty strings count as absent (Go's zero value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockTarget {
    /// A cluster user name.
    pub user: Option<String>,
    /// A role name: matches users holding it.
    pub role: Option<String>,
    /// A host login.
    pub login: Option<String>,
    /// A node (older spelling of `server_id`); compared with the node name
    /// and `node.id`.
    pub node: Option<String>,
    /// A node; compared with the node name and `node.id`.
    pub server_id: Option<String>,
    /// An MFA device id.
    pub mfa_device: Option<String>,
    /// A trusted device id: holds a certificate login from that device.
    pub device: Option<String>,
    /// An access request id: holds a certificate login carrying it.
    pub access_request: Option<String>,
    /// A Machine ID bot instance: holds a certificate login whose
    /// `bot-instance-id@goteleport.com` extension is this. The word
    /// [`WITHHELD`] (an older `mfactl publish` wrote it in place of the
    /// value) holds every bot certificate: the instance is unknown.
    pub bot_instance_id: Option<String>,
    /// The SHA-256 (lowercase hex) of a join token's name (read from
    /// `join_token`, hashed at load, or from `join_token_sha256`, as
    /// `mfactl publish` writes it: the name of a `token` join method's
    /// token is its secret). Holds a certificate login whose
    /// `join-token@goteleport.com` extension hashes to this, and, failing
    /// closed, a bot certificate login whose certificate names no join
    /// token (a `token`-joined bot's: Teleport leaves that secret out; an
    /// older Teleport's).
    pub join_token_sha256: Option<String>,
    /// Target fields that cannot be judged on a host (`windows_desktop`,
    /// ...): they hold no SSH login in Teleport either.
    /// They never match here; the lock's other fields still do.
    pub unsupported: Vec<String>,
}

/// What an older `mfactl publish` wrote in place of a lock target value it
/// did not copy.
pub const WITHHELD: &str = "withheld";

/// The SHA-256 (lowercase hex) of a join token's name, as lock targets
/// keep it (`join_token_sha256`).
pub fn join_token_sha256(name: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `join_token_sha256` value: 64 hex digits, kept in lowercase.
fn checked_sha256(value: &str) -> Result<String, String> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!(
            "join_token_sha256 {value:?} is not a SHA-256 in hex (64 hex digits)"
        ))
    }
}

impl LockTarget {
    /// The fields that are set, as `field=value`, for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (field, value) in [
            ("user", &self.user),
            ("role", &self.role),
            ("login", &self.login),
            ("node", &self.node),
            ("server_id", &self.server_id),
            ("mfa_device", &self.mfa_device),
            ("device", &self.device),
            ("access_request", &self.access_request),
            ("bot_instance_id", &self.bot_instance_id),
            ("join_token_sha256", &self.join_token_sha256),
        ] {
            if let Some(v) = value {
                parts.push(format!("{field}={v}"));
            }
        }
        for field in &self.unsupported {
            parts.push(format!("{field}=..."));
        }
        parts.join(", ")
    }

    fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.role.is_none()
            && self.login.is_none()
            && self.node.is_none()
            && self.server_id.is_none()
            && self.mfa_device.is_none()
            && self.device.is_none()
            && self.access_request.is_none()
            && self.bot_instance_id.is_none()
            && self.join_token_sha256.is_none()
            && self.unsupported.is_empty()
    }
}

impl<'de> Deserialize<'de> for LockTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LockTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a lock target mapping (user, role, login, node, server_id, mfa_device, ...)",
                )
            }
            fn visit_unit<E: de::Error>(self) -> Result<LockTarget, E> {
                Err(E::custom("lock target is empty"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LockTarget, A::Error> {
                let mut t = LockTarget::default();
                // `join_token` in clear, `join_token_sha256` as published.
                let mut token_hashes: Vec<String> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "user" => &mut t.user,
                        "role" => &mut t.role,
                        "login" => &mut t.login,
                        "node" => &mut t.node,
                        "server_id" => &mut t.server_id,
                        "mfa_device" => &mut t.mfa_device,
                        "device" => &mut t.device,
                        "access_request" => &mut t.access_request,
                        "bot_instance_id" => &mut t.bot_instance_id,
                        "join_token" | "join_token_sha256" => {
                            let value: Option<String> = map.next_value()?;
                            if let Some(v) = value.filter(|v| !v.is_empty()) {
                                token_hashes.push(if key == "join_token" {
                                    join_token_sha256(&v)
                                } else {
                                    checked_sha256(&v).map_err(de::Error::custom)?
                                });
                            }
                            continue;
                        }
                        _ => {
                            let value: serde_json::Value = map.next_value()?;
                            let set = match &value {
                                serde_json::Value::Null => false,
                                serde_json::Value::String(s) => !s.is_empty(),
                                serde_json::Value::Object(m) => !m.is_empty(),
                                serde_json::Value::Array(a) => !a.is_empty(),
                                _ => true,
                            };
                            if set {
                                t.unsupported.push(key);
                            }
                            continue;
                        }
                    };
                    let value: Option<String> = map.next_value()?;
                    *slot = value.filter(|v| !v.is_empty());
                }
                token_hashes.dedup();
                if token_hashes.len() > 1 {
                    return Err(de::Error::custom(
                        "join_token and join_token_sha256 name different join tokens",
                    ));
                }
                t.join_token_sha256 = token_hashes.pop();
                if t.is_empty() {
                    return Err(de::Error::custom("lock target is empty"));
                }
                Ok(t)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
pub(crate) struct LockDoc {
    #[serde(rename = "version", deserialize_with = "v2")]
    _version: String,
    metadata: Metadata,
    spec: RawLockSpec,
}

#[derive(Deserialize)]
struct RawLockSpec {
    target: LockTarget,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    expires: Option<Rfc3339Time>,
}

impl LockDoc {
    pub(crate) fn into_lock(self) -> Lock {
        Lock {
            name: self.metadata.name,
            target: self.spec.target,
            message: self.spec.message.filter(|m| !m.is_empty()),
            // Teleport keeps a lock in force until spec.expires; the backend
            // drops the resource at metadata.expires.
            expires: match (self.spec.expires.map(|t| t.0), self.metadata.expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}
