//! A string-keyed index that stores no strings: positions grouped by a key
//! that the bundle's resources already hold.
//!
//! A `HashMap<String, Vec<u32>>` over 100,000 users keeps a second copy of
//! every name and login, one allocation per key and one per list (about
//! 100 bytes an entry before the data). Here each key is a 64-bit
//! "locator" that the caller turns back into the key it was built from
//! (a user's position and which of its strings, say), a key with one
//! position keeps it beside the locator, and the longer lists share one
//! array: about 32 bytes an entry, no per-entry allocation. Lookups hash
//! the key once, probe a flat table and compare the candidate's key, as a
//! hash map does.

use std::hash::{BuildHasher, Hash, RandomState};

/// Groups of positions (`u32`), found by a key (a string, or bytes).
#[derive(Clone, Default)]
pub(crate) struct KeyTable {
    hasher: RandomState,
    /// Open addressing (linear probing): group + 1, or 0 for a free slot;
    /// beside it, the high half of the group's key hash, so that a probe
    /// reads a key from the resources only when that matches.
    slots: Box<[(u32, u32)]>,
    /// Per group: its key's locator and where its positions are.
    groups: Box<[Group]>,
    /// The positions of the groups with more than one.
    members: Box<[u32]>,
}

/// One key's entry. Most keys have one position (a user's login, a
/// device's key), held here rather than in `members`: a lookup in a large
/// table then reads one line of memory fewer, which is most of its cost.
#[derive(Clone, Copy)]
struct Group {
    /// The key, as its locator.
    locator: u64,
    /// `len` 1: the position itself; else where the positions start in
    /// `members`.
    first: u32,
    len: u32,
}

fn index(i: usize) -> u32 {
    u32::try_from(i).expect("an index holds fewer than 2^32 entries")
}

impl KeyTable {
    /// From `(key, locator of that key, position)`: each key's positions in
    /// the order given, a position repeated right after itself kept once.
    /// The locator of a key's first entry is the one kept.
    pub(crate) fn build<'a, K: ?Sized + Hash + Eq + 'a>(
        entries: impl IntoIterator<Item = (&'a K, u64, u32)>,
    ) -> KeyTable {
        let hasher = RandomState::new();
        let mut slots: Box<[(u32, u32)]> = vec![(0, 0); 16].into_boxed_slice();
        // Per group: its key and hash (for probing and growing), its
        // locator, the last position added and how many there are.
        let mut keys: Vec<(&'a K, u64)> = Vec::new();
        let mut locators: Vec<u64> = Vec::new();
        let mut last: Vec<u32> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        let mut added: Vec<(u32, u32)> = Vec::new();
        for (key, locator, position) in entries {
            let hash = hasher.hash_one(key);
            let mask = slots.len() - 1;
            let mut i = hash as usize & mask;
            let g = loop {
                match slots[i].0 {
                    0 => {
                        let g = index(keys.len());
                        slots[i] = (g + 1, tag(hash));
                        keys.push((key, hash));
                        locators.push(locator);
                        last.push(position);
                        counts.push(0);
                        break g;
                    }
                    s if keys[(s - 1) as usize] == (key, hash) => break s - 1,
                    _ => i = (i + 1) & mask,
                }
            };
            let gi = g as usize;
            if counts[gi] == 0 || last[gi] != position {
                counts[gi] += 1;
                last[gi] = position;
                added.push((g, position));
            }
            if keys.len() * 2 > slots.len() {
                slots = rehash(&keys, slots.len() * 2);
            }
        }
        let slots = rehash(&keys, (keys.len() * 2).next_power_of_two().max(2));
        drop(last);
        // Where each group with more than one position starts in `members`.
        let mut next: Vec<u32> = Vec::with_capacity(counts.len());
        let mut total = 0u32;
        for &c in &counts {
            next.push(total);
            if c > 1 {
                total += c;
            }
        }
        let mut groups: Box<[Group]> = locators
            .iter()
            .zip(counts.iter().zip(&next))
            .map(|(&locator, (&len, &first))| Group {
                locator,
                first,
                len,
            })
            .collect();
        let mut members = vec![0u32; total as usize].into_boxed_slice();
        for (g, position) in added {
            let group = &mut groups[g as usize];
            if group.len == 1 {
                group.first = position;
            } else {
                let at = &mut next[g as usize];
                members[*at as usize] = position;
                *at += 1;
            }
        }
        KeyTable {
            hasher,
            slots,
            groups,
            members,
        }
    }

    /// The positions under `key`; `key_of` gives back the key of a locator.
    pub(crate) fn get<'k, K: ?Sized + Hash + Eq + 'k>(
        &self,
        key: &K,
        key_of: impl Fn(u64) -> &'k K,
    ) -> &[u32] {
        if self.groups.is_empty() {
            return &[];
        }
        let mask = self.slots.len() - 1;
        let hash = self.hasher.hash_one(key);
        let mut i = hash as usize & mask;
        loop {
            let group = match self.slots[i] {
                (0, _) => return &[],
                (g, t) if t == tag(hash) => &self.groups[(g - 1) as usize],
                _ => {
                    i = (i + 1) & mask;
                    continue;
                }
            };
            if key_of(group.locator) == key {
                return match group.len {
                    1 => std::slice::from_ref(&group.first),
                    n => &self.members[group.first as usize..][..n as usize],
                };
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of keys.
    pub(crate) fn len(&self) -> usize {
        self.groups.len()
    }
}

/// A probing table of `size` slots (a power of two) for these keys.
fn rehash<K: ?Sized>(keys: &[(&K, u64)], size: usize) -> Box<[(u32, u32)]> {
    let mut slots = vec![(0u32, 0u32); size].into_boxed_slice();
    let mask = size - 1;
    for (g, (_, hash)) in keys.iter().enumerate() {
        let mut i = *hash as usize & mask;
        while slots[i].0 != 0 {
            i = (i + 1) & mask;
        }
        slots[i] = (index(g) + 1, tag(*hash));
    }
    slots
}

/// The part of a hash kept beside each slot (the low part picks the slot).
fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// A locator from a resource's position and which of its strings is the key.
pub(crate) fn locator(position: u32, which: usize) -> u64 {
    (u64::from(position) << 32) | u64::from(index(which))
}

/// The position and the string of a [`locator`].
pub(crate) fn unlocate(locator: u64) -> (u32, usize) {
    ((locator >> 32) as u32, (locator & 0xffff_ffff) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keys_and_lookups() {
        let keys = ["jerry", "amy", "jerry", "", "olga", "amy", "amy"];
        let key_of = |l: u64| keys[unlocate(l).1];
        let table = KeyTable::build(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (*k, locator(0, i), [4, 1, 2, 3, 0, 1, 5][i])),
        );
        assert_eq!(table.len(), 4);
        assert_eq!(table.get("jerry", key_of), [4, 2]);
        assert_eq!(
            table.get("amy", key_of),
            [1, 5],
            "a repeated position is kept once"
        );
        assert_eq!(table.get("", key_of), [3]);
        assert_eq!(table.get("olga", key_of), [0]);
        assert!(table.get("bob", key_of).is_empty());
        assert!(table.get("Jerry", key_of).is_empty());
        let empty = KeyTable::build(std::iter::empty::<(&str, u64, u32)>());
        assert!(empty.get("jerry", key_of).is_empty());
        assert!(KeyTable::default().get("", key_of).is_empty());
        // Many keys: every one found, through collisions.
        let many: Vec<String> = (0..5000).map(|i| format!("u{i}")).collect();
        let t = KeyTable::build(
            many.iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i as u64, i as u32)),
        );
        for (i, k) in many.iter().enumerate() {
            assert_eq!(t.get(k.as_str(), |l| many[l as usize].as_str()), [i as u32]);
        }
        assert!(t.get("u5000", |l| many[l as usize].as_str()).is_empty());
    }
}
