//! A pull of an `https://` bundle source: a conditional GET within the
//! pull's deadline, the detached signature, the parse, and the
//! last-known-good copy of what is new.

use std::sync::Arc;
use std::time::SystemTime;

use super::agent_state::{AgentState, SyncBook};
use super::policy_store::Provenance;
use super::pulled::{record_saved, save_contact, Pulled};
use crate::policy::load_bundle_str;
use crate::sync::{verify_bundle_signature, Fetched, LastKnownGood, PullDeadline};

pub(super) fn pull(
    state: &AgentState,
    book: &mut SyncBook,
    now: SystemTime,
    deadline: &PullDeadline,
) -> Result<Pulled, String> {
    let fetcher = match &state.fetcher {
        Some(Ok(f)) => f,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("no HTTPS client for this source".into()),
    };
    let snap = state.store.snapshot();
    let etag = snap.current.as_ref().and(snap.provenance.etag.clone());
    match fetcher.fetch(etag.as_deref(), deadline)? {
        Fetched::NotModified => {
            if let Some(b) = &snap.current {
                save_contact(state, book, &b.revision, now);
            }
            Ok(Pulled::NotModified)
        }
        Fetched::Body {
            bytes,
            etag,
            signature,
        } => {
            let signature = if state.signing_keys.is_empty() {
                None
            } else {
                let sig = signature.ok_or("the bundle is not signed")?;
                Some(verify_bundle_signature(&bytes, &sig, &state.signing_keys)?)
            };
            let text = std::str::from_utf8(&bytes)
                .map_err(|e| format!("the bundle is not UTF-8 text: {e}"))?;
            let bundle =
                load_bundle_str(text, &state.source.describe()).map_err(|e| e.to_string())?;
            let unchanged = snap
                .current
                .as_ref()
                .is_some_and(|b| b.revision == bundle.revision)
                && snap.provenance.etag == etag
                && !snap.provenance.from_cache;
            if unchanged {
                save_contact(state, book, &bundle.revision, now);
            } else if let Some(cache) = &state.cache {
                let lkg = LastKnownGood {
                    source: cache.source.clone(),
                    etag: etag.clone(),
                    fetched_at: now,
                    confirmed_at: now,
                    sha256: bundle.revision.clone(),
                    signature,
                    bytes,
                    manifest: None,
                    files: None,
                };
                record_saved(state, book, cache.save(&lkg), now);
            }
            let fetched_at = if unchanged {
                snap.provenance.fetched_at
            } else {
                Some(now)
            };
            Ok(Pulled::Bundle {
                bundle: Arc::new(bundle),
                provenance: Provenance {
                    fetched_at,
                    etag,
                    from_cache: false,
                    manifest: None,
                },
            })
        }
    }
}
