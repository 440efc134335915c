//! A string-keyed index that stores no strings: positions grouped by a key
//! that the bundle's resources already hold.
//!
//! A `HashMap<String, Vec<u32>>` over 100,000 users keeps a second copy of
//! every name and login, one allocation per key and one per list (about
//! 100 bytes an entry before the data). Here each key is a 64-bit
//! "locator" that the caller turns back into the key it was built from
//! (a user's position and which of its strings, say), kept in the probing
//! table's slot itself with part of its hash and its position (a key with
//! one position) or where its positions start (the longer lists share one
//! array): about 32 bytes a key, no per-key allocation. Lookups hash the
//! key once, probe the flat table and compare the candidate's key, as a
//! hash map does; a key found reads one line of the table, then the
//! resource its locator names.

use std::hash::{BuildHasher, Hash, RandomState};

use super::prefetch::prefetch;

/// Groups of positions (`u32`), found by a key (a string, or bytes).
#[derive(Clone, Default)]
pub(crate) struct KeyTable {
    hasher: RandomState,
    /// Open addressing (linear probing), at most half full.
    slots: Box<[Slot]>,
    /// The groups with more than one position: each one's count, then
    /// its positions.
    members: Box<[u32]>,
    /// How many keys.
    keys: usize,
}

/// One probing slot: a key's group, or free. Everything a lookup needs
/// before it reads the key from the resources is here, in 16 bytes (four
/// to a cache line): on a large bundle each further read is a cache miss,
/// most of a lookup's cost.
#[derive(Clone, Copy, Default)]
struct Slot {
    /// The key, as its locator.
    locator: u64,
    /// [`OCCUPIED`], [`MANY`] when the key has more than one position, and
    /// the high bits of the key's hash ([`tag`]); 0 for a free slot.
    meta: u32,
    /// One position: the position itself; else where the group's count
    /// sits in `members`, its positions following.
    first: u32,
}

/// A key's hash in one [`KeyTable`], its lookup started
/// ([`KeyTable::start`]).
#[derive(Clone, Copy)]
pub(crate) struct Lookup(u64);

/// [`Slot::meta`]: the slot holds a key.
const OCCUPIED: u32 = 1 << 31;
/// [`Slot::meta`]: the key has more than one position.
const MANY: u32 = 1 << 30;

fn index(i: usize) -> u32 {
    u32::try_from(i).expect("an index holds fewer than 2^32 entries")
}

/// A key's positions while the table is built.
struct Building<'a, K: ?Sized> {
    key: &'a K,
    hash: u64,
    locator: u64,
    last: u32,
    count: u32,
}

impl KeyTable {
    /// From `(key, locator of that key, position)`: each key's positions in
    /// the order given, a position repeated right after itself kept once.
    /// The locator of a key's first entry is the one kept.
    pub(crate) fn build<'a, K: ?Sized + Hash + Eq + 'a>(
        entries: impl IntoIterator<Item = (&'a K, u64, u32)>,
    ) -> KeyTable {
        let hasher = RandomState::new();
        let (groups, added) = group_entries(&hasher, entries);
        let size = (groups.len() * 2).next_power_of_two().max(2);
        let probe = rehash(groups.iter().map(|b| b.hash), size);
        let (next, members) = lay_out_members(&groups, added);
        let slots: Box<[Slot]> = probe
            .iter()
            .map(|&s| match s {
                0 => Slot::default(),
                s => {
                    let gi = (s - 1) as usize;
                    let b = &groups[gi];
                    let (many, first) = match b.count {
                        1 => (0, next[gi]),
                        // Back from the last position to the count.
                        n => (MANY, next[gi] - n),
                    };
                    Slot {
                        locator: b.locator,
                        meta: OCCUPIED | many | tag(b.hash),
                        first,
                    }
                }
            })
            .collect();
        KeyTable {
            hasher,
            slots,
            members,
            keys: groups.len(),
        }
    }

    /// The positions under `key`; `key_of` gives back the key of a locator.
    pub(crate) fn get<'k, K: ?Sized + Hash + Eq + 'k>(
        &self,
        key: &K,
        key_of: impl Fn(u64) -> &'k K,
    ) -> &[u32] {
        self.finish(self.start(key), key, key_of)
    }

    /// The first half of [`KeyTable::get`]: hashes `key` and asks the CPU
    /// for the line of its first slot, so that lookups in several tables
    /// wait for memory side by side. [`KeyTable::finish`] probes.
    pub(crate) fn start<K: ?Sized + Hash>(&self, key: &K) -> Lookup {
        if self.keys == 0 {
            return Lookup(0);
        }
        let hash = self.hasher.hash_one(key);
        prefetch(&self.slots[hash as usize & (self.slots.len() - 1)]);
        Lookup(hash)
    }

    /// The positions under `key`, [`KeyTable::start`]ed as `lookup` (in
    /// this table, with this key).
    pub(crate) fn finish<'k, K: ?Sized + Eq + 'k>(
        &self,
        lookup: Lookup,
        key: &K,
        key_of: impl Fn(u64) -> &'k K,
    ) -> &[u32] {
        if self.keys == 0 {
            return &[];
        }
        let mask = self.slots.len() - 1;
        let hash = lookup.0;
        let want = OCCUPIED | tag(hash);
        let mut i = hash as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.meta == 0 {
                return &[];
            }
            if slot.meta & !MANY == want && key_of(slot.locator) == key {
                if slot.meta & MANY == 0 {
                    return std::slice::from_ref(&slot.first);
                }
                let at = slot.first as usize;
                return &self.members[at + 1..][..self.members[at] as usize];
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of keys.
    pub(crate) fn len(&self) -> usize {
        self.keys
    }
}

/// A probing table of `size` slots (a power of two) for keys with these
/// hashes, in order: group + 1 per slot, 0 for a free one.
/// The keys of `entries` in the order first seen, each with its count of
/// positions, and every (group, position) kept, in order.
fn group_entries<'a, K: ?Sized + Hash + Eq + 'a>(
    hasher: &RandomState,
    entries: impl IntoIterator<Item = (&'a K, u64, u32)>,
) -> (Vec<Building<'a, K>>, Vec<(u32, u32)>) {
    // Group + 1 per slot (0: free), while the groups are found.
    let mut probe: Box<[u32]> = vec![0; 16].into_boxed_slice();
    let mut groups: Vec<Building<'a, K>> = Vec::new();
    let mut added: Vec<(u32, u32)> = Vec::new();
    for (key, locator, position) in entries {
        let hash = hasher.hash_one(key);
        let mask = probe.len() - 1;
        let mut i = hash as usize & mask;
        let g = loop {
            match probe[i] {
                0 => {
                    let g = index(groups.len());
                    probe[i] = g + 1;
                    groups.push(Building {
                        key,
                        hash,
                        locator,
                        last: position,
                        count: 0,
                    });
                    break g;
                }
                s if {
                    let b = &groups[(s - 1) as usize];
                    b.hash == hash && b.key == key
                } =>
                {
                    break s - 1
                }
                _ => i = (i + 1) & mask,
            }
        };
        let b = &mut groups[g as usize];
        if b.count == 0 || b.last != position {
            b.count += 1;
            b.last = position;
            added.push((g, position));
        }
        if groups.len() * 2 > probe.len() {
            probe = rehash(groups.iter().map(|b| b.hash), probe.len() * 2);
        }
    }
    (groups, added)
}

/// `members` (each group with more than one position: its count, then its
/// positions), and per group its one position, or where its last
/// position went in `members`.
fn lay_out_members<K: ?Sized>(
    groups: &[Building<'_, K>],
    added: Vec<(u32, u32)>,
) -> (Vec<u32>, Box<[u32]>) {
    // Where each group with more than one position starts in `members`
    // (its count first), and then where its next position goes.
    let mut next: Vec<u32> = Vec::with_capacity(groups.len());
    let mut total = 0u32;
    for b in groups {
        next.push(total);
        if b.count > 1 {
            total += 1 + b.count;
        }
    }
    let mut members = vec![0u32; total as usize].into_boxed_slice();
    for (b, &at) in groups.iter().zip(&next) {
        if b.count > 1 {
            members[at as usize] = b.count;
        }
    }
    for (g, position) in added {
        let gi = g as usize;
        if groups[gi].count == 1 {
            next[gi] = position;
        } else {
            next[gi] += 1;
            members[next[gi] as usize] = position;
        }
    }
    (next, members)
}

fn rehash(hashes: impl Iterator<Item = u64>, size: usize) -> Box<[u32]> {
    let mut slots = vec![0u32; size].into_boxed_slice();
    let mask = size - 1;
    for (g, hash) in hashes.enumerate() {
        let mut i = hash as usize & mask;
        while slots[i] != 0 {
            i = (i + 1) & mask;
        }
        slots[i] = index(g) + 1;
    }
    slots
}

/// The part of a hash kept in each slot (the low part picks the slot).
fn tag(hash: u64) -> u32 {
    (hash >> 34) as u32
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
