//! The policy the agent decides with, where it came from, when the source
//! was last reached, and what happened to the last loads.

use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use crate::policy::Bundle;
use crate::sync::{AcceptedManifest, Refusal};

/// Where the installed bundle came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// When its bytes were fetched from (or read at) the source.
    pub fetched_at: Option<SystemTime>,
    /// The source's ETag for it (HTTPS).
    pub etag: Option<String>,
    /// Loaded from the last-known-good cache, not (yet) confirmed by the source.
    pub from_cache: bool,
    /// Manifest mode: the signed manifest that named the bundle (its
    /// `expires_at` bounds how long the policy is fresh).
    pub manifest: Option<AcceptedManifest>,
}

/// The last manifest refused, for `mfactl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRecord {
    pub refusal: Refusal,
    pub at: SystemTime,
}

/// Holds the last good bundle. A bad new bundle is recorded as an error and
/// never replaces the good one.
#[derive(Default)]
pub struct PolicyStore {
    inner: RwLock<StoreInner>,
}

#[derive(Default, Clone)]
struct StoreInner {
    current: Option<Arc<Bundle>>,
    provenance: Provenance,
    last_load: Option<SystemTime>,
    last_error: Option<String>,
    /// The last successful contact with the source (a 200 or 304, or a good
    /// read of a file source). `None` with a bundle installed: freshness is
    /// not tracked (see [`PolicyStore::install`]).
    last_contact: Option<SystemTime>,
    /// The agent's monotonic clock at `last_contact` and at the installed
    /// manifest's `expires_at`: ages and expiry are also counted on it, so
    /// stepping the wall clock back does not keep a policy fresh.
    contact_mono: Option<Instant>,
    manifest_deadline_mono: Option<Instant>,
    last_attempt: Option<SystemTime>,
    cache_error: Option<String>,
    last_refusal: Option<RefusalRecord>,
    /// When the pull (or load) running now began; `None`: none runs.
    pull_started: Option<SystemTime>,
}

/// A copy of the store's bookkeeping for `mfactl status` and the staleness rules.
#[derive(Clone)]
pub struct StoreSnapshot {
    pub current: Option<Arc<Bundle>>,
    pub provenance: Provenance,
    pub last_load: Option<SystemTime>,
    pub last_error: Option<String>,
    pub last_contact: Option<SystemTime>,
    pub contact_mono: Option<Instant>,
    pub manifest_deadline_mono: Option<Instant>,
    pub last_attempt: Option<SystemTime>,
    pub cache_error: Option<String>,
    pub last_refusal: Option<RefusalRecord>,
    /// When the pull (or load) running now began; `None`: none runs.
    pub pull_started: Option<SystemTime>,
}

impl PolicyStore {
    pub fn current(&self) -> Option<Arc<Bundle>> {
        self.read().current.clone()
    }

    /// Installs a bundle that has no source to go stale against (tests, and
    /// callers that manage freshness themselves): it never counts as stale.
    pub fn install(&self, bundle: Bundle, at: SystemTime) {
        let bundle = Arc::new(bundle);
        let mut inner = self.write();
        // The old bundle is dropped after the lock is released, not under
        // it: freeing a large bundle takes a while, and decisions read the
        // store meanwhile.
        let old = inner.current.replace(bundle);
        inner.provenance = Provenance {
            fetched_at: Some(at),
            ..Provenance::default()
        };
        inner.last_load = Some(at);
        inner.last_error = None;
        inner.last_contact = None;
        inner.contact_mono = None;
        inner.manifest_deadline_mono = None;
        drop(inner);
        drop(old);
    }

    /// Installs a bundle from the source (or its cache); `contact` is the
    /// last time the source confirmed it. Clears the last error.
    pub fn install_from(
        &self,
        bundle: Arc<Bundle>,
        provenance: Provenance,
        contact: SystemTime,
        at: SystemTime,
    ) {
        let mut inner = self.write();
        let old = inner.current.replace(bundle);
        inner.manifest_deadline_mono = provenance
            .manifest
            .as_ref()
            .map(|m| mono_at(m.expires_at, at));
        inner.provenance = provenance;
        inner.last_load = Some(at);
        inner.last_contact = Some(contact);
        inner.contact_mono = Some(mono_at(contact, at));
        inner.last_attempt = Some(at);
        inner.last_error = None;
        drop(inner);
        // Freed (when it was the last reference) without the lock held.
        drop(old);
    }

    /// The source confirmed the installed bundle (a 304, or an unchanged file).
    /// A pull at `at` that proved the source as fresh as `contact` (in
    /// manifest mode: the issued_at of the newest verified manifest, so
    /// an unchanged or replayed manifest does not count as new contact).
    pub fn record_contact_as_of(&self, contact: SystemTime, at: SystemTime) {
        let mut inner = self.write();
        inner.last_contact = Some(contact);
        inner.contact_mono = Some(mono_at(contact, at));
        inner.last_attempt = Some(at);
        inner.last_error = None;
        inner.provenance.from_cache = false;
    }

    pub fn record_contact(&self, at: SystemTime) {
        let mut inner = self.write();
        inner.last_contact = Some(at);
        inner.contact_mono = Some(Instant::now());
        inner.last_attempt = Some(at);
        inner.last_error = None;
        inner.provenance.from_cache = false;
    }

    /// Records a failed load; the current bundle stays.
    pub fn record_error(&self, error: String) {
        self.write().last_error = Some(error);
    }

    /// Records a failed pull at `at`; the current bundle stays.
    pub fn record_failure(&self, error: String, at: SystemTime) {
        let mut inner = self.write();
        inner.last_error = Some(error);
        inner.last_attempt = Some(at);
    }

    /// A manifest was refused at `at` (kept until another is refused).
    pub fn record_refusal(&self, refusal: Refusal, at: SystemTime) {
        self.write().last_refusal = Some(RefusalRecord { refusal, at });
    }

    /// A pull (or load) of the source began at `at` (see `pull_turn`).
    pub fn begin_pull(&self, at: SystemTime) {
        self.write().pull_started = Some(at);
    }

    /// The pull begun last ended (whatever its outcome).
    pub fn end_pull(&self) {
        self.write().pull_started = None;
    }

    /// Why the last-known-good cache could not be used at start.
    pub fn record_cache_error(&self, error: Option<String>) {
        self.write().cache_error = error;
    }

    pub fn snapshot(&self) -> StoreSnapshot {
        let inner = self.read();
        StoreSnapshot {
            current: inner.current.clone(),
            provenance: inner.provenance.clone(),
            last_load: inner.last_load,
            last_error: inner.last_error.clone(),
            last_contact: inner.last_contact,
            contact_mono: inner.contact_mono,
            manifest_deadline_mono: inner.manifest_deadline_mono,
            last_attempt: inner.last_attempt,
            cache_error: inner.cache_error.clone(),
            last_refusal: inner.last_refusal.clone(),
            pull_started: inner.pull_started,
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

/// The monotonic instant of wall time `t`, read when the wall clock said
/// `now`: before or after this instant by as much as `t` is before or
/// after `now` (an instant before boot is taken as now: the wall clock's
/// age still counts).
fn mono_at(t: SystemTime, now: SystemTime) -> Instant {
    let mono_now = Instant::now();
    match t.duration_since(now) {
        Ok(ahead) => mono_now.checked_add(ahead).unwrap_or(mono_now),
        Err(behind) => mono_now.checked_sub(behind.duration()).unwrap_or(mono_now),
    }
}
