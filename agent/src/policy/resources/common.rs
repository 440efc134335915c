//! Shapes shared by every resource: metadata, versions, strings-or-lists.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `metadata`: the name and `expires`; everything else is ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    #[serde(deserialize_with = "non_empty_string")]
    pub name: String,
    /// `metadata.expires`: Teleport's backend deletes the resource then, so
    /// from that instant it no longer exists (a user, a role, a lock).
    /// Go's zero time (`0001-01-01T00:00:00Z`) means none.
    #[serde(default, deserialize_with = "go_time")]
    pub expires: Option<SystemTime>,
}

/// An RFC 3339 time that may be absent, `null` or Go's zero time (none).
/// Go's zero time as tctl prints it for every user that never expires nor
/// was locked (read without parsing: a bundle holds it on every user).
const GO_ZERO_TEXT: &str = "0001-01-01T00:00:00Z";

pub(crate) fn go_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    d.deserialize_option(GoTime)
}

/// Reads a time from the text as the parser holds it (no copy of it).
struct GoTime;

impl<'de> de::Visitor<'de> for GoTime {
    type Value = Option<SystemTime>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an RFC 3339 time")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(GoTime)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        if text.trim() == GO_ZERO_TEXT {
            return Ok(None);
        }
        let t = parse_rfc3339(text).map_err(E::custom)?;
        let go_zero = SystemTime::UNIX_EPOCH - Duration::from_secs(62_135_596_800);
        Ok((t != go_zero).then_some(t))
    }
}

/// A boolean as Teleport's `types.Bool` reads it: `true`/`false`, or a
/// string `utils.ParseBool` knows (`yes`, `on`, `1`, ... any case); any
/// other string, and `null`, is false.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Bool(b)) => b,
        Some(Raw::Text(t)) => matches!(
            t.to_lowercase().as_str(),
            "yes" | "yeah" | "y" | "true" | "1" | "on"
        ),
        None => false,
    })
}

/// An RFC 3339 time.
pub(crate) struct Rfc3339Time(pub SystemTime);

fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(Into::into)
        .map_err(|e| {
            format!("invalid time {s:?} (expected RFC 3339, e.g. 2023-01-01T00:00:00Z): {e}")
        })
}

impl<'de> Deserialize<'de> for Rfc3339Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s)
            .map(Rfc3339Time)
            .map_err(de::Error::custom)
    }
}

/// A string that must not be empty.
pub(crate) fn non_empty_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(de::Error::custom("must not be empty"));
    }
    Ok(s)
}

fn check_version<'de, D: Deserializer<'de>>(
    d: D,
    kind: &str,
    supported: &[&str],
) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    if supported.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(de::Error::custom(format!(
            "unsupported {kind} version {v:?} (supported: {})",
            supported.join(", ")
        )))
    }
}

/// Role versions Teleport knows.
pub(crate) const ROLE_VERSIONS: &[&str] = &["v3", "v4", "v5", "v6", "v7", "v8"];

pub(crate) fn role_version<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    check_version(d, "role", ROLE_VERSIONS)
}

pub(crate) fn v2<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    check_version(d, "resource", &["v2"])
}

pub(crate) fn v1<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    check_version(d, "resource", &["v1"])
}

/// One string-like scalar: a string, or an integer or boolean kept as its text.
/// Floats are refused (their text would not survive), as are lists and maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Err(E::custom(format!(
            "expected a string, found the number {v}; quote it"
        )))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// Teleport's `utils.Strings`: a single string or a list of strings; null is
/// an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StringList(pub Vec<String>);

struct StringListVisitor;

impl<'de> Visitor<'de> for StringListVisitor {
    type Value = StringList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
        Ok(StringList(vec![v.to_owned()]))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StringList, E> {
        Ok(StringList(vec![v.to_string()]))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringList, E> {
        Ok(StringList(vec![v.to_string()]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringList, E> {
        Ok(StringList(vec![v.to_string()]))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StringList, E> {
        ScalarVisitor.visit_f64(v).map(|s| StringList(vec![s.0]))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StringList, E> {
        Ok(StringList::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<StringList, E> {
        Ok(StringList::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StringList, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
        let mut out = Vec::new();
        while let Some(Scalar(s)) = seq.next_element()? {
            out.push(s);
        }
        // Kept for the bundle's life: no room for more (a list grown by
        // pushes holds up to twice what it needs, 100,000 users times a
        // few lists).
        out.shrink_to_fit();
        Ok(StringList(out))
    }
}

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringListVisitor)
    }
}

/// Label selectors and traits: key → one string or a list.
pub(crate) type StringListMap = BTreeMap<String, StringList>;

pub(crate) fn into_plain_map(map: StringListMap) -> BTreeMap<String, Vec<String>> {
    map.into_iter().map(|(k, v)| (k, v.0)).collect()
}

/// A locking mode Teleport accepts (the cap's `locking_mode`, a role's
/// `options.lock`): empty (the default), `best_effort` or `strict`.
pub(super) fn is_locking_mode(mode: &str) -> bool {
    matches!(mode, "" | "best_effort" | "strict")
}
