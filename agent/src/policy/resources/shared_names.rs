//! Names that many resources of a bundle repeat, shared while it is read.

use std::cell::RefCell;
use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;

thread_local! {
    /// How many [`SharedNames`] are alive on this thread, and the names
    /// shared meanwhile.
    static NAMES: RefCell<(usize, HashSet<Arc<str>>)> = RefCell::new((0, HashSet::new()));
}

/// While one is alive, the resources converted on this thread share the
/// names they repeat: users their role names (a bundle of 100,000 users
/// names a few thousand roles), devices their user's name. The names are
/// let go when the last one is dropped. A loader holds one.
pub(crate) struct SharedNames(PhantomData<*const ()>);

impl Default for SharedNames {
    fn default() -> Self {
        NAMES.with(|r| r.borrow_mut().0 += 1);
        SharedNames(PhantomData)
    }
}

impl Drop for SharedNames {
    fn drop(&mut self) {
        NAMES.with(|r| {
            let mut r = r.borrow_mut();
            r.0 -= 1;
            if r.0 == 0 {
                r.1 = HashSet::new();
            }
        });
    }
}

/// `name`, shared with the resources converted before it while a
/// [`SharedNames`] is alive.
pub(crate) fn shared_name(name: String) -> Arc<str> {
    NAMES.with(|r| {
        let mut r = r.borrow_mut();
        if r.0 == 0 {
            return Arc::from(name);
        }
        if let Some(shared) = r.1.get(name.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        r.1.insert(shared.clone());
        shared
    })
}
