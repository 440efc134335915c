//! Resources by name: in name order, found by hashing, and each at a fixed
//! position that the bundle's indices can point at.
//!
//! A `BTreeMap<String, _>` of 100,000 users costs a lookup a few dozen
//! string comparisons, each a likely cache miss on a large bundle; a hash
//! lookup costs one or two.

use std::collections::BTreeMap;
use std::ops::Index;

use super::key_table::KeyTable;

/// A resource with a unique name.
pub trait Named {
    fn name(&self) -> &str;
}

impl Named for super::resources::User {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for super::resources::Role {
    fn name(&self) -> &str {
        &self.name
    }
}

/// Resources in name order, each found by its name.
#[derive(Clone)]
pub struct ByName<T> {
    items: Vec<T>,
    /// Name → position; the names are the items' own.
    positions: KeyTable,
}

impl<T: std::fmt::Debug> std::fmt::Debug for ByName<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.items).finish()
    }
}

impl<T> Default for ByName<T> {
    fn default() -> Self {
        ByName {
            items: Vec::new(),
            positions: KeyTable::default(),
        }
    }
}

impl<T: PartialEq> PartialEq for ByName<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<T: Eq> Eq for ByName<T> {}

impl<T: Named> ByName<T> {
    /// From a map keyed by each resource's name.
    pub(crate) fn from_map(map: BTreeMap<String, T>) -> ByName<T> {
        ByName::from_sorted(map.into_values().collect())
    }

    /// From resources with distinct names, in any order.
    pub(crate) fn from_unsorted(mut items: Vec<T>) -> ByName<T> {
        items.sort_unstable_by(|a, b| a.name().cmp(b.name()));
        ByName::from_sorted(items)
    }

    /// From resources with distinct names, in name order.
    pub(crate) fn from_sorted(mut items: Vec<T>) -> ByName<T> {
        items.shrink_to_fit();
        debug_assert!(items.windows(2).all(|w| w[0].name() < w[1].name()));
        let positions = KeyTable::build(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| (item.name(), i as u64, position(i))),
        );
        ByName { items, positions }
    }

    pub fn get(&self, name: &str) -> Option<&T> {
        self.position(name).map(|p| &self.items[p as usize])
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Where `name` sits (positions follow name order).
    pub(crate) fn position(&self, name: &str) -> Option<u32> {
        self.positions
            .get(name, |p| self.items[p as usize].name())
            .first()
            .copied()
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(Named::name)
    }
}

impl<T> ByName<T> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The resources, in name order.
    pub fn values(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub(crate) fn at(&self, position: u32) -> &T {
        &self.items[position as usize]
    }

    /// The position of `item` when it is one of these (the same place in
    /// memory, not an equal copy).
    pub(crate) fn position_of(&self, item: &T) -> Option<u32> {
        let size = std::mem::size_of::<T>().max(1);
        let offset = (item as *const T as usize).checked_sub(self.items.as_ptr() as usize)?;
        let i = offset / size;
        let same = self.items.get(i).is_some_and(|x| std::ptr::eq(x, item));
        same.then(|| position(i))
    }
}

impl<T: Named> Index<&str> for ByName<T> {
    type Output = T;

    fn index(&self, name: &str) -> &T {
        self.get(name)
            .unwrap_or_else(|| panic!("no resource named {name:?}"))
    }
}

pub(crate) fn position(i: usize) -> u32 {
    u32::try_from(i).expect("a bundle holds fewer than 2^32 resources")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::User;

    fn user(name: &str) -> (String, User) {
        let u = User {
            name: name.to_owned(),
            roles: [format!("role-of-{name}").into()].into(),
            traits: Default::default(),
            ..Default::default()
        };
        (name.to_owned(), u)
    }

    #[test]
    fn name_order_and_lookups() {
        let users = ByName::from_map(["olga", "jerry", "amy"].map(user).into_iter().collect());
        assert_eq!(users.keys().collect::<Vec<_>>(), ["amy", "jerry", "olga"]);
        assert_eq!(users.len(), 3);
        for (i, u) in users.values().enumerate() {
            assert_eq!(users.position(&u.name), Some(i as u32));
            assert_eq!(users.at(i as u32), u);
            assert_eq!(users.get(&u.name), Some(u));
            assert_eq!(
                users[u.name.as_str()].roles,
                [format!("role-of-{}", u.name).into()].into()
            );
        }
        assert_eq!(users.get("bob"), None);
        // A position by place in memory: an equal copy is not one of them.
        let jerry = users.get("jerry").unwrap();
        assert_eq!(users.position_of(jerry), Some(1));
        assert_eq!(users.position_of(&jerry.clone()), None);
        assert!(users.contains_key("jerry") && !users.contains_key("Jerry"));
        assert!(ByName::<User>::default().is_empty());
    }
}
