//! Copying one resource through its [`Shape`]: what is kept, what is
//! dropped, and the refusal when an unknown field carries key material.

use serde_json::{Map as JsonMap, Value};

use super::secrets::key_material;
use super::shape::{Shape, Unknown};
use super::shapes::shape_of;

/// A field the publisher does not know that looks like key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Where, as `spec.local_auth.foo[0].bar`.
    pub path: String,
    /// What it looks like.
    pub why: &'static str,
}

/// What the copy dropped as secrets.
#[derive(Debug, Default)]
pub(crate) struct Dropped {
    /// Secret fields dropped.
    pub secret_fields: usize,
    /// Their string values (12 characters or more), to prove afterwards
    /// that none reached the output by another way.
    pub secret_values: Vec<String>,
}

/// One resource of `kind` copied through its shape; `None` when the
/// resource is left out: a kind the agent does not read, an `mfa_device`
/// with no public form (TOTP, SSO).
pub(crate) fn copy_resource(
    kind: &str,
    value: &Value,
    dropped: &mut Dropped,
) -> Result<Option<Value>, Refusal> {
    let Some(shape) = shape_of(kind) else {
        return Ok(None);
    };
    let mut path = String::new();
    let Some(mut kept) = copy(value, shape, &mut path, dropped)? else {
        return Ok(None);
    };
    match kind {
        "user" => drop_devices_without_public_part(&mut kept),
        "mfa_device" if !has_public_form(&kept["spec"]) => return Ok(None),
        _ => {}
    }
    Ok(Some(kept))
}

const PUBLIC_FORMS: [&str; 3] = ["ssh_sk", "webauthn", "piv"];

fn has_public_form(spec: &Value) -> bool {
    PUBLIC_FORMS.iter().any(|f| spec.get(f).is_some())
}

/// A user's `spec.local_auth.mfa` entries left with neither `webauthn` nor
/// `u2f` (TOTP, SSO devices) are left out.
fn drop_devices_without_public_part(user: &mut Value) {
    let Some(Value::Array(devices)) = user.pointer_mut("/spec/local_auth/mfa") else {
        return;
    };
    devices.retain(|d| d.get("webauthn").is_some() || d.get("u2f").is_some());
}

fn copy(
    value: &Value,
    shape: &Shape,
    path: &mut String,
    dropped: &mut Dropped,
) -> Result<Option<Value>, Refusal> {
    match shape {
        Shape::Keep => Ok(Some(value.clone())),
        Shape::KeepChecked => {
            check(value, path)?;
            Ok(Some(value.clone()))
        }
        Shape::Secret => {
            dropped.secret_fields += 1;
            collect_strings(value, &mut dropped.secret_values);
            Ok(None)
        }
        Shape::Drop => Ok(None),
        Shape::Map(fields, unknown) => match value {
            Value::Object(members) => copy_map(members, fields, *unknown, path, dropped),
            Value::Null => Ok(Some(Value::Null)),
            other => {
                // Not the mapping Teleport writes: the loader judges it.
                check(other, path)?;
                Ok(Some(other.clone()))
            }
        },
        Shape::Each(element) => match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let kept = copy(item, element, path, dropped)?;
                    path.truncate(len);
                    out.extend(kept);
                }
                if out.is_empty() && !items.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Value::Array(out)))
            }
            other => {
                check(other, path)?;
                Ok(Some(other.clone()))
            }
        },
    }
}

fn copy_map(
    members: &JsonMap<String, Value>,
    fields: &[(&'static str, Shape)],
    unknown: Unknown,
    path: &mut String,
    dropped: &mut Dropped,
) -> Result<Option<Value>, Refusal> {
    let mut out = JsonMap::new();
    for (key, v) in members {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let kept = match fields.iter().find(|(name, _)| name == key) {
            Some((_, shape)) => copy(v, shape, path, dropped)?,
            None => {
                check(v, path)?;
                match unknown {
                    Unknown::CheckAndDrop => None,
                    Unknown::CheckAndMask => Some(mask(v)),
                }
            }
        };
        path.truncate(len);
        if let Some(kept) = kept {
            out.insert(key.clone(), kept);
        }
    }
    if out.is_empty() && !members.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Object(out)))
}

/// Refuses when any string in `value` looks like key material.
fn check(value: &Value, path: &str) -> Result<(), Refusal> {
    match value {
        Value::String(s) => match key_material(s) {
            Some(why) => Err(Refusal {
                path: path.to_owned(),
                why,
            }),
            None => Ok(()),
        },
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check(v, &format!("{path}[{i}]"))),
        Value::Object(members) => members
            .iter()
            .try_for_each(|(k, v)| check(v, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.trim().len() >= 12 => out.push(s.trim().to_owned()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(members) => members.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// A value that is set (the agent counts a lock target field as set unless
/// it is null, empty or an empty list or map) stands as the word
/// `withheld`; an unset one stays unset.
fn mask(v: &Value) -> Value {
    let set = match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    };
    if set {
        Value::String("withheld".into())
    } else {
        v.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn copy_kind(v: &Value) -> (Result<Option<Value>, Refusal>, Dropped) {
        let mut d = Dropped::default();
        (copy_resource(v["kind"].as_str().unwrap(), v, &mut d), d)
    }

    #[test]
    fn a_user_keeps_roles_traits_and_public_device_parts_only() {
        let user = json!({
            "kind": "user", "version": "v2",
            "metadata": {"name": "alice", "revision": "r", "labels": {"a": "b"}},
            "spec": {
                "roles": ["access"], "traits": {"logins": ["alice"]},
                "created_by": {"time": "2024-01-01T00:00:00Z"},
                "local_auth": {
                    "password_hash": "JDJhJDEwJGFiY2RlZmdoaWprbG1ub3BxcnN0dXY=",
                    "totp_key": "JBSWY3DPEHPK3PXPJBSW",
                    "webauthn": {"user_id": "dXNlci1oYW5kbGUtdXNlci1oYW5kbGU="},
                    "mfa": [
                        {"kind": "mfa_device", "metadata": {"name": "otp"}, "id": "1",
                         "totp": {"key": "JBSWY3DPEHPK3PXPJBSW"}},
                        {"kind": "mfa_device", "metadata": {"name": "yk"}, "id": "2",
                         "webauthn": {"credentialId": "Y3JlZA==", "publicKeyCbor": "pQECAyYgASFYIA==",
                                      "attestationObject": "o2NmbXQ="}}
                    ]
                }
            }
        });
        let (kept, d) = copy_kind(&user);
        let kept = kept.unwrap().unwrap();
        assert_eq!(
            kept,
            json!({
                "kind": "user", "version": "v2", "metadata": {"name": "alice"},
                "spec": {
                    "roles": ["access"], "traits": {"logins": ["alice"]},
                    "local_auth": {"mfa": [
                        {"kind": "mfa_device", "metadata": {"name": "yk"}, "id": "2",
                         "webauthn": {"credentialId": "Y3JlZA==", "publicKeyCbor": "pQECAyYgASFYIA=="}}
                    ]}
                }
            })
        );
        assert_eq!(d.secret_fields, 4);
        assert!(d.secret_values.contains(&"JBSWY3DPEHPK3PXPJBSW".to_owned()));
        // A device document with only a secret form is left out whole.
        let totp = json!({"kind": "mfa_device", "version": "v1", "metadata": {"name": "t"},
            "spec": {"user": "alice", "totp": {"key": "JBSWY3DPEHPK3PXPJBSW"}}});
        assert_eq!(copy_kind(&totp).0.unwrap(), None);
        assert_eq!(
            copy_kind(&json!({"kind": "github", "spec": {"client_secret": "x"}}))
                .0
                .unwrap(),
            None
        );
    }

    /// What `tctl get user_login_state` prints: the roles, traits and
    /// expiry are kept; the original roles and traits, the user type and
    /// the revision are not.
    #[test]
    fn a_user_login_state_keeps_roles_traits_and_expiry() {
        let state = json!({"kind": "user_login_state", "version": "v1",
            "metadata": {"name": "alice", "expires": "2030-01-01T00:00:00Z", "revision": "r",
                         "labels": {"teleport.dev/origin": "okta"}},
            "spec": {"original_roles": ["dev"], "original_traits": {"logins": ["a"]},
                     "roles": ["dev", "prod"], "traits": {"logins": ["alice"]},
                     "user_type": "sso", "github_identity": {"UserID": "1", "Username": "a"}}});
        let (kept, d) = copy_kind(&state);
        assert_eq!(
            kept.unwrap().unwrap(),
            json!({"kind": "user_login_state", "version": "v1",
                "metadata": {"name": "alice", "expires": "2030-01-01T00:00:00Z"},
                "spec": {"roles": ["dev", "prod"], "traits": {"logins": ["alice"]}}})
        );
        assert_eq!(d.secret_fields, 0);
    }

    #[test]
    fn networking_config_keeps_the_idle_timeout_only() {
        let net = json!({"kind": "cluster_networking_config", "version": "v2",
            "metadata": {"name": "cluster-networking-config", "revision": "r"},
            "spec": {"client_idle_timeout": "15m", "keep_alive_interval": "5m",
                     "proxy_listener_mode": 1}});
        let kept = copy_kind(&net).0.unwrap().unwrap();
        assert_eq!(kept["spec"], json!({"client_idle_timeout": "15m"}));
        assert_eq!(kept["kind"], "cluster_networking_config");
    }

    #[test]
    fn an_unknown_field_with_key_material_is_refused_by_path() {
        let ca = json!({
            "kind": "cert_authority", "version": "v2", "metadata": {"name": "c"},
            "spec": {"type": "user", "active_keys": {"ssh": [
                {"public_key": "c3NoLWVkMjU1MTk=", "private_key": "secret",
                 "escrow": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}
            ]}}
        });
        let (r, _) = copy_kind(&ca);
        assert_eq!(
            r.unwrap_err(),
            Refusal {
                path: "spec.active_keys.ssh[0].escrow".into(),
                why: "a PEM block"
            }
        );
        // An unknown field without key material is dropped quietly.
        let mut ok = ca.clone();
        ok["spec"]["active_keys"]["ssh"][0]["escrow"] = json!("none");
        ok["spec"]["future"] = json!({"n": 3});
        let (r, d) = copy_kind(&ok);
        let kept = r.unwrap().unwrap();
        assert_eq!(
            kept["spec"]["active_keys"]["ssh"][0],
            json!({"public_key": "c3NoLWVkMjU1MTk="})
        );
        assert!(kept["spec"].get("future").is_none());
        assert_eq!(d.secret_fields, 1);
    }

    #[test]
    fn snake_case_device_fields_are_the_same_fields() {
        let user = json!({"kind": "user", "version": "v2", "metadata": {"name": "a"},
            "spec": {"local_auth": {"mfa": [{"name": "k", "id": "1", "added_at": "2020-01-01T00:00:00Z",
                "u2f": {"key_handle": "a2g=", "pub_key": "BAQE", "counter": 2}}]}}});
        let (r, _) = copy_kind(&user);
        assert_eq!(r.unwrap().unwrap(), user);
    }

    #[test]
    fn lock_targets_keep_fields_hosts_cannot_judge() {
        // A `token` join method's token name is its secret (32 hex digits,
        // below the key-material check): only that the field is set goes.
        let token = "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";
        let lock = json!({"kind": "lock", "version": "v2", "metadata": {"name": "l"},
            "spec": {"target": {"user": "bob", "windows_desktop": "w1", "join_token": token,
                "device": ""}, "created_by": "x"}});
        let (r, _) = copy_kind(&lock);
        let kept = r.unwrap().unwrap();
        assert_eq!(
            kept["spec"],
            json!({"target": {"user": "bob", "windows_desktop": "withheld",
                "join_token": "withheld", "device": ""}})
        );
        assert!(!kept.to_string().contains(token));
        // `device` is read by the agent, so kept; checked, so a key there
        // stops the publication.
        let mut leaky = lock.clone();
        leaky["spec"]["target"]["device"] = json!("$2a$10$abcdefghijklmnopqrstuv");
        assert_eq!(
            copy_kind(&leaky).0.unwrap_err(),
            Refusal {
                path: "spec.target.device".into(),
                why: "a password hash"
            }
        );
    }

    /// What decides a login is published: a resource's expiry (Teleport
    /// deletes it then), a user's login lock, a role's device_trust_mode
    /// and disconnect_expired_cert, the cap's device trust mode.
    #[test]
    fn expiry_and_device_trust_are_published() {
        let exp = "2030-01-01T00:00:00Z";
        let role = json!({"kind": "role", "version": "v7",
            "metadata": {"name": "r", "expires": exp},
            "spec": {"options": {"device_trust_mode": "required", "max_session_ttl": "8h",
                "disconnect_expired_cert": true}}});
        assert_eq!(
            copy_kind(&role).0.unwrap().unwrap(),
            json!({"kind": "role", "version": "v7", "metadata": {"name": "r", "expires": exp},
                "spec": {"options": {"device_trust_mode": "required", "disconnect_expired_cert": true}}})
        );
        let user = json!({"kind": "user", "version": "v2", "metadata": {"name": "a"},
            "spec": {"roles": ["r"], "expires": exp,
                "status": {"is_locked": true, "lock_expires": exp, "locked_message": "m"}}});
        assert_eq!(
            copy_kind(&user).0.unwrap().unwrap()["spec"],
            json!({"roles": ["r"], "expires": exp,
                "status": {"is_locked": true, "lock_expires": exp}})
        );
        let cap = json!({"kind": "cluster_auth_preference", "version": "v2",
            "metadata": {"name": "cluster-auth-preference"},
            "spec": {"device_trust": {"mode": "required", "auto_enroll": true}}});
        assert_eq!(
            copy_kind(&cap).0.unwrap().unwrap()["spec"],
            json!({"device_trust": {"mode": "required"}})
        );
    }
}
