//! One pass over a JSON array of resources, as the publisher writes it
//! (`[`, one resource per line, `]`): each element is decoded straight into
//! its resource type, with no syntax check of the whole text first, no
//! `kind` envelope parsed on its own and no element cut out and parsed
//! again.
//!
//! The fast way needs `kind` to be an element's first member (as serde_json
//! and tctl print it); any other element is decoded as `documents` decodes
//! a document, from its own text. Errors are exactly those of that way:
//! a syntax error anywhere in the text is reported first (the whole text is
//! checked again when an element fails), with the same file, line and
//! column.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{CowStrDeserializer, MapAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess};
use serde::Deserialize;

use super::documents::{json_error, Document, Format};
use super::error::PolicyError;
use super::resources::{
    CapDoc, CertAuthorityDoc, DeviceDoc, LockDoc, NetworkingDoc, RoleDoc, UserDoc,
    UserLoginStateDoc,
};

/// A resource read from its document, before Teleport's defaults.
pub(crate) enum Resource {
    Role(RoleDoc),
    User(UserDoc),
    Cap(CapDoc),
    Lock(LockDoc),
    Device(DeviceDoc),
    CertAuthority(CertAuthorityDoc),
    Networking(NetworkingDoc),
    LoginState(UserLoginStateDoc),
    /// A kind this agent does not read.
    Unknown(String),
}

impl Resource {
    /// Decodes the rest of a resource whose `kind` has been read.
    fn decode_rest<'de, A: MapAccess<'de>>(kind: &str, map: A) -> Result<Resource, A::Error> {
        let rest = MapAccessDeserializer::new(NoSecondKind(map));
        Ok(match kind {
            "role" => Resource::Role(RoleDoc::deserialize(rest)?),
            "user" => Resource::User(UserDoc::deserialize(rest)?),
            "cluster_auth_preference" => Resource::Cap(CapDoc::deserialize(rest)?),
            "lock" => Resource::Lock(LockDoc::deserialize(rest)?),
            "mfa_device" => Resource::Device(DeviceDoc::deserialize(rest)?),
            "cert_authority" => Resource::CertAuthority(CertAuthorityDoc::deserialize(rest)?),
            "cluster_networking_config" => Resource::Networking(NetworkingDoc::deserialize(rest)?),
            "user_login_state" => Resource::LoginState(UserLoginStateDoc::deserialize(rest)?),
            other => {
                IgnoredAny::deserialize(rest)?;
                Resource::Unknown(other.to_owned())
            }
        })
    }
}

/// One element: a resource, or an element to decode the general way.
/// Short-lived, one at a time: boxing the resource would cost an
/// allocation per element for nothing.
#[allow(clippy::large_enum_variant)]
enum Element {
    Resource(Resource),
    Other,
}

/// A map key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The members after `kind`: a second `kind` is an error, as it is when the
/// kind is read on its own (serde's "duplicate field").
struct NoSecondKind<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for NoSecondKind<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Key(key)) = self.0.next_key::<Key<'de>>()? else {
            return Ok(None);
        };
        if key == "kind" {
            return Err(de::Error::duplicate_field("kind"));
        }
        let d: CowStrDeserializer<'de, A::Error> = key.into_deserializer();
        seed.deserialize(d).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a resource")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
                let Some(first) = map.next_key::<Key<'de>>()? else {
                    return Ok(Element::Other);
                };
                if first.0 == "kind" {
                    if let serde_json::Value::String(kind) = map.next_value()? {
                        if !kind.trim().is_empty() {
                            return Resource::decode_rest(&kind, map).map(Element::Resource);
                        }
                    }
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
                // Not the publisher's shape: skip it here, decode it on its own.
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Element::Other)
            }
        }
        // Anything but an object is decoded on its own, too.
        struct Any;
        impl<'de> de::Visitor<'de> for Any {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
                V.visit_map(map)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_unit<E>(self) -> Result<Element, E> {
                Ok(Element::Other)
            }
        }
        d.deserialize_any(Any)
    }
}

/// What one element of the array is handed on as (one at a time, as
/// [`Element`]).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item<'a> {
    /// Decoded here; the document gives its place (its text is empty).
    Resource(Resource, Document<'a>),
    /// To be decoded as any other document.
    Document(Document<'a>),
}

/// Which elements of the array to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// All of them.
    Whole,
    /// Those before `split`, when an element starts there (after a
    /// comma); else, when an element runs over `split`, all of them.
    Head { split: usize },
    /// Those from `split` (an element's start) to the end of the array.
    Tail { split: usize },
}

/// Where reading a [`Part`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the end of the array.
    End,
    /// At the split of a [`Part::Head`], where the tail starts.
    Split,
}

/// Streams the elements of a JSON array (`text` starts with `[` after
/// blanks) to `each`, in order. `None` when the text is not a
/// well-formed array here (the caller then takes the general way, which
/// reports the error).
pub(crate) fn for_each_element<'a>(
    text: &'a str,
    origin: &str,
    each: impl FnMut(Item<'a>) -> Result<(), PolicyError>,
) -> Result<Option<()>, PolicyError> {
    Ok(for_each_element_in(text, origin, Part::Whole, each)?.map(|_| ()))
}

/// [`for_each_element`] for a part of the array.
pub(crate) fn for_each_element_in<'a>(
    text: &'a str,
    origin: &str,
    part: Part,
    mut each: impl FnMut(Item<'a>) -> Result<(), PolicyError>,
) -> Result<Option<Stop>, PolicyError> {
    let bytes = text.as_bytes();
    let mut lines = LineCounter::default();
    let (mut i, mut stop) = match part {
        Part::Tail { split } => (split, usize::MAX),
        Part::Whole | Part::Head { .. } => {
            let i = skip_ws(bytes, 0);
            if bytes.get(i) != Some(&b'[') {
                return Ok(None);
            }
            let i = skip_ws(bytes, i + 1);
            if bytes.get(i) == Some(&b']') {
                return Ok((skip_ws(bytes, i + 1) == bytes.len()).then_some(Stop::End));
            }
            let stop = match part {
                Part::Head { split } => split,
                _ => usize::MAX,
            };
            (i, stop)
        }
    };
    loop {
        if i == stop {
            return Ok(Some(Stop::Split));
        }
        if i > stop {
            // An element ran over the split: this is no place to cut, and
            // reading goes on to the end.
            stop = usize::MAX;
        }
        let (line, column) = lines.at(bytes, i);
        let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Element>();
        let element = match stream.next() {
            Some(Ok(e)) => e,
            Some(Err(e)) => return Err(first_error(text, origin, &e, line, column)),
            None => return Ok(None),
        };
        let end = i + stream.byte_offset();
        let doc = Document {
            text: &text[i..end],
            format: Format::Json,
            line,
            column,
            content_line: line,
        };
        match element {
            Element::Resource(r) => each(Item::Resource(r, Document { text: "", ..doc }))?,
            Element::Other => each(Item::Document(doc))?,
        }
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b']') if skip_ws(bytes, i + 1) == bytes.len() => return Ok(Some(Stop::End)),
            _ => return Ok(None),
        }
        if bytes.get(i) == Some(&b']') {
            return Ok(None); // a trailing comma
        }
    }
}

/// The error the general way reports: the whole text's syntax error if it
/// has one, else this element's.
fn first_error(
    text: &str,
    origin: &str,
    e: &serde_json::Error,
    line: u64,
    column: u64,
) -> PolicyError {
    match serde_json::from_str::<IgnoredAny>(text) {
        Err(syntax) => json_error(&syntax, origin, 1, 1),
        Ok(_) => json_error(e, origin, line, column),
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// Byte offset → (line, column), for increasing offsets.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    /// Lines before `pos`, less one.
    line: u64,
    line_start: usize,
}

impl LineCounter {
    fn at(&mut self, bytes: &[u8], offset: usize) -> (u64, u64) {
        let seen = &bytes[self.pos..offset];
        let newlines = seen.iter().filter(|&&b| b == b'\n').count();
        if newlines > 0 {
            self.line += newlines as u64;
            let last = seen.iter().rposition(|&b| b == b'\n').unwrap_or(0);
            self.line_start = self.pos + last + 1;
        }
        self.pos = offset;
        (self.line + 1, (offset - self.line_start) as u64 + 1)
    }
}
