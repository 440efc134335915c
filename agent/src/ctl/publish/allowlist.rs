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
        // Renamed by `copy_map`, which alone knows the name.
        Shape::Sha256As(_) => Ok(Some(hashed(value, dropped))),
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
            let name = match fields.iter().find(|(name, _)| name == key) {
                Some((_, Shape::Sha256As(to))) if kept.is_string() => (*to).to_owned(),
                _ => key.clone(),
            };
            out.insert(name, kept);
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

/// A secret string as its SHA-256 (the agent's `join_token_sha256`), and
/// its clear value among those that must not reach the output; anything
/// else (null, an empty string) as it is: the loader judges it.
fn hashed(value: &Value, dropped: &mut Dropped) -> Value {
    match value {
        Value::String(s) if !s.is_empty() => {
            collect_strings(value, &mut dropped.secret_values);
            Value::String(crate::policy::join_token_sha256(s))
        }
        other => other.clone(),
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
#[path = "allowlist_tests.rs"]
mod tests;
