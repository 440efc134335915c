//! Values that an agent.yaml reload replaces while requests read them.
//!
//! A reader gets a plain `&T` (through `Deref`) and keeps it for as long as
//! it likes, without a lock held: each installed value is leaked, never
//! freed. A value is installed once at start and once per *applied change*
//! of agent.yaml (a root-only act; an unchanged file installs nothing), so
//! what is kept is a few kilobytes per edit of the file.

use std::ops::Deref;
use std::sync::RwLock;

pub struct Live<T: 'static>(RwLock<&'static T>);

impl<T: 'static> Live<T> {
    pub fn new(value: T) -> Live<T> {
        Live(RwLock::new(Box::leak(Box::new(value))))
    }

    /// The value in force now.
    pub fn get(&self) -> &'static T {
        *self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs `value` for every later read; earlier reads keep theirs.
    pub fn replace(&self, value: T) {
        let leaked: &'static T = Box::leak(Box::new(value));
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = leaked;
    }
}

impl<T: 'static> Deref for Live<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: std::fmt::Debug + 'static> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Live;

    #[test]
    fn earlier_reads_keep_their_value_later_reads_see_the_new_one() {
        let live = Live::new(String::from("old"));
        let before: &str = &live;
        live.replace(String::from("new"));
        assert_eq!(before, "old");
        assert_eq!(&*live, "new");
    }
}
