//! A user's traits (`spec.traits`) in two blocks of memory.
//!
//! A `BTreeMap<String, Vec<String>>` costs a user a tree node (about 540
//! bytes for a handful of traits) and one allocation per name, per list and
//! per value: with 100,000 users that was most of a large bundle's heap.
//! Here every name and value sits in one string, and their ends in one
//! array, in name order; a lookup walks the few names a user has.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::super::prefetch::{prefetch, prefetch_first};
use super::common::StringList;

/// Trait name → values, names in order (each once), values as written.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Traits {
    /// The names and values, one after another.
    text: Box<str>,
    /// Per trait: where its name ends in `text`, how many values it has,
    /// then where each value ends.
    layout: Layout,
}

/// [`Traits::layout`]: two bytes a number when the text is shorter than
/// 64 KiB (every user, in practice), else four.
#[derive(Clone, PartialEq, Eq)]
enum Layout {
    Short(Box<[u16]>),
    Long(Box<[u32]>),
}

impl Default for Layout {
    fn default() -> Self {
        Layout::Short(Box::default())
    }
}

/// A part of a [`Layout`].
#[derive(Clone, Copy)]
enum Ends<'a> {
    Short(&'a [u16]),
    Long(&'a [u32]),
}

impl Default for Ends<'_> {
    fn default() -> Self {
        Ends::Short(&[])
    }
}

impl<'a> Ends<'a> {
    fn len(self) -> usize {
        match self {
            Ends::Short(e) => e.len(),
            Ends::Long(e) => e.len(),
        }
    }

    fn at(self, i: usize) -> Option<usize> {
        match self {
            Ends::Short(e) => e.get(i).map(|&x| usize::from(x)),
            Ends::Long(e) => e.get(i).map(|&x| x as usize),
        }
    }

    fn range(self, from: usize, to: usize) -> Ends<'a> {
        match self {
            Ends::Short(e) => Ends::Short(&e[from..to]),
            Ends::Long(e) => Ends::Long(&e[from..to]),
        }
    }
}

/// The values of one trait.
#[derive(Clone, Copy, Default)]
pub struct TraitValues<'a> {
    text: &'a str,
    /// Where the first value starts.
    start: usize,
    ends: Ends<'a>,
}

impl<'a> TraitValues<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.len() == 0
    }

    /// The `i`th value.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let end = self.ends.at(i)?;
        let start = match i {
            0 => self.start,
            _ => self.ends.at(i - 1)?,
        };
        Some(&self.text[start..end])
    }

    pub fn first(&self) -> Option<&'a str> {
        self.get(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }

    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|v| v == value)
    }

    /// The values as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl fmt::Debug for TraitValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn end(len: usize) -> u32 {
    u32::try_from(len).expect("a user's traits are shorter than 4 GiB")
}

impl Layout {
    fn ends(&self) -> Ends<'_> {
        match self {
            Layout::Short(e) => Ends::Short(e),
            Layout::Long(e) => Ends::Long(e),
        }
    }

    fn is_empty(&self) -> bool {
        self.ends().len() == 0
    }
}

impl Traits {
    /// From names in strictly increasing order and their values.
    fn from_sorted<'a, V>(entries: impl IntoIterator<Item = (&'a str, V)>) -> Traits
    where
        V: IntoIterator,
        V::Item: AsRef<str>,
    {
        let mut text = String::new();
        let mut layout = Vec::new();
        for (name, values) in entries {
            text.push_str(name);
            layout.push(end(text.len()));
            let count_at = layout.len();
            layout.push(0);
            for v in values {
                text.push_str(v.as_ref());
                layout.push(end(text.len()));
            }
            layout[count_at] = end(layout.len() - count_at - 1);
        }
        let short: Result<Box<[u16]>, _> = layout.iter().map(|&x| u16::try_from(x)).collect();
        let layout = match short {
            Ok(short) => Layout::Short(short),
            Err(_) => Layout::Long(layout.into_boxed_slice()),
        };
        Traits {
            text: text.into_boxed_str(),
            layout,
        }
    }

    /// Every trait, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, TraitValues<'_>)> + '_ {
        let mut at = 0usize;
        let mut start = 0usize;
        let layout = self.layout.ends();
        std::iter::from_fn(move || {
            let name_end = layout.at(at)?;
            let count = layout.at(at + 1)?;
            let ends = layout.range(at + 2, at + 2 + count);
            let name = &self.text[start..name_end];
            at += 2 + count;
            start = ends.at(count.wrapping_sub(1)).unwrap_or(name_end);
            let values = TraitValues {
                text: &self.text,
                start: name_end,
                ends,
            };
            Some((name, values))
        })
    }

    /// Asks the CPU for what [`Traits::get`] reads (the layout and the first
    /// lines of the text) without waiting for it: the two blocks then
    /// arrive side by side.
    pub(crate) fn prefetch(&self) {
        match &self.layout {
            Layout::Short(e) => prefetch_first(e),
            Layout::Long(e) => prefetch_first(e),
        }
        prefetch(&*self.text);
    }

    /// The values of trait `name`, if the user has it (maybe empty).
    pub fn get(&self, name: &str) -> Option<TraitValues<'_>> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The trait names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(n, _)| n)
    }

    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// As a map (a copy).
    pub fn to_map(&self) -> BTreeMap<String, Vec<String>> {
        self.iter()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect()
    }
}

impl From<&BTreeMap<String, Vec<String>>> for Traits {
    fn from(map: &BTreeMap<String, Vec<String>>) -> Traits {
        Traits::from_sorted(map.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

impl From<BTreeMap<String, Vec<String>>> for Traits {
    fn from(map: BTreeMap<String, Vec<String>>) -> Traits {
        Traits::from(&map)
    }
}

impl<const N: usize> From<[(&str, &[&str]); N]> for Traits {
    fn from(entries: [(&str, &[&str]); N]) -> Traits {
        let map: BTreeMap<&str, &[&str]> = entries.into_iter().collect();
        Traits::from_sorted(map)
    }
}

impl fmt::Debug for Traits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// `spec.traits`: a map of name → a string or a list (null: empty). A name
/// given twice keeps its last value, as a map would.
impl<'de> Deserialize<'de> for Traits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Traits;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of trait names to lists of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Traits, A::Error> {
                let mut entries: Vec<(String, StringList)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, StringList>()? {
                    entries.push((k, v));
                }
                // Stable: of equal names, the last one given is kept.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut kept: Vec<(String, StringList)> = Vec::with_capacity(entries.len());
                for e in entries {
                    match kept.last_mut() {
                        Some(last) if last.0 == e.0 => *last = e,
                        _ => kept.push(e),
                    }
                }
                Ok(Traits::from_sorted(
                    kept.iter().map(|(k, v)| (k.as_str(), &v.0)),
                ))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_order() {
        let t = Traits::from([
            ("logins", &["jerry", "ops"][..]),
            ("email", &["jerry@example.com"]),
            ("groups", &[]),
            ("", &["", "x"]),
        ]);
        assert_eq!(
            t.names().collect::<Vec<_>>(),
            ["", "email", "groups", "logins"]
        );
        let logins = t.get("logins").unwrap();
        assert_eq!(logins.to_vec(), ["jerry", "ops"]);
        assert_eq!(
            (logins.len(), logins.get(1), logins.get(2)),
            (2, Some("ops"), None)
        );
        assert!(t.get("groups").unwrap().is_empty());
        assert_eq!(t.get("").unwrap().to_vec(), ["", "x"]);
        assert_eq!(t.get("email").unwrap().first(), Some("jerry@example.com"));
        assert!(t.get("login").is_none() && t.get("logins2").is_none());
        let map = t.to_map();
        assert_eq!(Traits::from(&map), t);
        assert_eq!(map["logins"], ["jerry", "ops"]);
        assert!(Traits::default().is_empty() && Traits::default().get("").is_none());
    }

    #[test]
    fn long_traits_keep_their_values() {
        // Past 64 KiB of text, and more than 65,535 values: four-byte ends.
        let long = "x".repeat(70_000);
        let empties = vec![""; 70_000];
        let t = Traits::from([("a", &[long.as_str(), "y"][..]), ("b", &empties)]);
        assert_eq!(t.get("a").unwrap().to_vec(), [long.as_str(), "y"]);
        assert_eq!(t.get("b").unwrap().len(), 70_000);
        assert_eq!(t.names().collect::<Vec<_>>(), ["a", "b"]);
        let many = Traits::from([("e", &empties[..]), ("f", &["z"])]);
        assert_eq!(many.get("e").unwrap().len(), 70_000);
        assert_eq!(many.get("f").unwrap().to_vec(), ["z"]);
        assert_eq!(Traits::from(&many.to_map()), many);
    }

    #[test]
    fn decoded_as_a_map() {
        let t: Traits = serde_json::from_str(
            r#"{"logins": ["b", "a"], "email": "x@y", "k8s": null, "logins": ["c"], "n": [1, true]}"#,
        )
        .unwrap();
        assert_eq!(
            t.get("logins").unwrap().to_vec(),
            ["c"],
            "the last one given"
        );
        assert_eq!(t.get("email").unwrap().to_vec(), ["x@y"]);
        assert!(t.get("k8s").unwrap().is_empty());
        assert_eq!(t.get("n").unwrap().to_vec(), ["1", "true"]);
        assert_eq!(
            t.names().collect::<Vec<_>>(),
            ["email", "k8s", "logins", "n"]
        );
        assert!(serde_json::from_str::<Traits>(r#"{"a": [1.5]}"#).is_err());
    }
}
