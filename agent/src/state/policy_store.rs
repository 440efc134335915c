//! The policy the agent decides with, and what happened to the last loads.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::policy::Bundle;

/// Holds the last good bundle. A bad new bundle is recorded as an error and
/// never replaces the good one.
#[derive(Default)]
pub struct PolicyStore {
    inner: RwLock<StoreInner>,
}

#[derive(Default, Clone)]
struct StoreInner {
    current: Option<Arc<Bundle>>,
    last_load: Option<SystemTime>,
    last_error: Option<String>,
}

/// A copy of the store's bookkeeping for `mfactl status`.
#[derive(Clone)]
pub struct StoreSnapshot {
    pub current: Option<Arc<Bundle>>,
    pub last_load: Option<SystemTime>,
    pub last_error: Option<String>,
}

impl PolicyStore {
    pub fn current(&self) -> Option<Arc<Bundle>> {
        self.read().current.clone()
    }

    /// Installs a freshly loaded bundle and clears the last error.
    pub fn install(&self, bundle: Bundle, at: SystemTime) {
        let mut inner = self.write();
        inner.current = Some(Arc::new(bundle));
        inner.last_load = Some(at);
        inner.last_error = None;
    }

    /// Records a failed load; the current bundle stays.
    pub fn record_error(&self, error: String) {
        self.write().last_error = Some(error);
    }

    pub fn snapshot(&self) -> StoreSnapshot {
        let inner = self.read();
        StoreSnapshot {
            current: inner.current.clone(),
            last_load: inner.last_load,
            last_error: inner.last_error.clone(),
        }
    }

    // A poisoned lock only means a panic elsewhere while holding it; the
    // data (an Arc swap) is still consistent, so keep serving.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, StoreInner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, StoreInner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}
