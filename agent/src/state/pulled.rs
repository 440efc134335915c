//! What a pull brought before it is installed, and how fresh it proves
//! the policy (shared by the bundle and manifest pulls and the cache).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::agent_state::{AgentState, SyncBook};
use super::policy_store::Provenance;
use crate::policy::Bundle;

/// How often a 304 is written down as the cache's last confirmation.
const CONTACT_SAVE_EVERY: Duration = Duration::from_secs(60);

/// How fresh a successful pull proves the policy: now, or in manifest mode
/// the issued_at of the newest verified manifest (never later than now).
/// The publisher signs a new manifest every round, so a server that keeps
/// answering 304, or serves the same signed manifest again, cannot make a
/// policy it holds back look fresh: past `lock_view_max_age` (strict
/// locking) and `max_staleness` it goes stale as without contact.
pub(super) fn contact_as_of(
    manifest: Option<&crate::sync::AcceptedManifest>,
    now: SystemTime,
) -> SystemTime {
    manifest.map_or(now, |m| m.issued_at.min(now))
}

/// What a pull brought before it is installed.
pub(super) enum Pulled {
    NotModified,
    Bundle {
        bundle: Arc<Bundle>,
        provenance: Provenance,
    },
}

/// Writes down that the source confirmed the bundle `sha256`, at most once
/// every [`CONTACT_SAVE_EVERY`].
pub(super) fn save_contact(state: &AgentState, book: &mut SyncBook, sha256: &str, now: SystemTime) {
    let Some(cache) = &state.cache else {
        return;
    };
    let due = book
        .contact_saved_at
        .is_none_or(|t| now.duration_since(t).unwrap_or_default() >= CONTACT_SAVE_EVERY);
    if due {
        match cache.save_contact(sha256, now) {
            Ok(()) => book.contact_saved_at = Some(now),
            Err(e) => eprintln!("mfa-agent: {e}"),
        }
    }
}

/// Writes down how saving the last known good went: on success the save
/// is the latest contact written down and any earlier error is cleared;
/// an error is logged and shown by `mfactl status`. Returns whether it
/// was saved.
pub(super) fn record_saved(
    state: &AgentState,
    book: &mut SyncBook,
    saved: Result<(), String>,
    now: SystemTime,
) -> bool {
    match saved {
        Ok(()) => {
            book.contact_saved_at = Some(now);
            state.store.record_cache_error(None);
            true
        }
        Err(e) => {
            let e = format!("cannot save the last known good: {e}");
            eprintln!("mfa-agent: {e}");
            state.store.record_cache_error(Some(e));
            false
        }
    }
}
