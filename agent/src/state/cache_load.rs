//! Start-up from the last-known-good cache: of an HTTPS or manifest source
//! first (the copy is checked: SHA-256, source, signature, parse; for a
//! manifest source its manifest, whose serial becomes the rollback floor)
//! so a host restarted offline decides as before; of a `file://` source
//! only when its files are refused (SHA-256, source, parse, revision), so
//! a bundle file that stopped loading does not leave a restarted host with
//! no policy.

use std::sync::Arc;

use super::agent_state::{AgentState, SyncBook};
use super::audit_trail::audit;
use super::policy_store::Provenance;
use super::reload::{reload_now, ReloadOutcome};
use crate::config::PolicySource;
use crate::policy::{load_bundle_str, Bundle};
use crate::sync::{verify_bundle_signature, AcceptedManifest, LastKnownGood};

/// `mfa-agent --check`: what a start would load, the first pull included
/// (bounded by `cluster.timeout`) when no cached copy stands in for an
/// HTTPS or manifest source. A `file://` source: see
/// [`file_source_or_copy`]. builtin:example: loads it.
pub fn initial_load(state: &AgentState) -> ReloadOutcome {
    load_at_start(state).unwrap_or_else(|| reload_now(state))
}

/// The daemon at start, before it listens: an HTTPS or manifest source's
/// last known good copy (checked: SHA-256, source, signature, parse), so
/// the host decides offline, and no network: `None` when there is no
/// usable copy. Its first pull runs on the reloader thread once the
/// sockets are bound (a slow or dripping source must not keep every login
/// from an answer, nor systemd from READY), and until a policy loads,
/// logins follow `fail_mode` as with none. A `file://` source (local,
/// read at once) and builtin:example are loaded here, as before.
pub fn load_at_start(state: &AgentState) -> Option<ReloadOutcome> {
    match state.source {
        PolicySource::Path(_) => return Some(file_source_or_copy(state)),
        PolicySource::BuiltinExample => return Some(reload_now(state)),
        PolicySource::Https(_) | PolicySource::Manifest(_) => {}
    }
    // The floor recorded for this source first: the cached copy is held
    // against it, as a pulled manifest is.
    let floor_error = matches!(state.source, PolicySource::Manifest(_))
        .then(|| {
            let mut book = state.sync_book.lock().unwrap_or_else(|p| p.into_inner());
            super::manifest_sync::load_recorded_floor(state, &mut book).err()
        })
        .flatten();
    let cached = load_cache(state, None);
    // Shown after the cache, whose success clears the status line.
    if let Some(e) = floor_error {
        let error = format!("rollback floor unreadable: {e}");
        eprintln!("mfa-agent: {error}");
        state.store.record_cache_error(Some(error.clone()));
        audit(state, "policy_rejected", "rejected", "", error);
    }
    cached
}

/// A `file://` source at start: its files first, which win whenever they
/// load (they may hold a newer lock than the copy). Refused (unreadable,
/// wrong owner or mode, a parse error, no policy in them), the last known
/// good copy is installed, marked as from the cache, and the files' error
/// kept as the last error: status shows both, and the poller (which
/// records no contact while the last read was refused) reads the files
/// again when they change. Without a usable copy: no policy, as before.
fn file_source_or_copy(state: &AgentState) -> ReloadOutcome {
    let first = reload_now(state);
    let ReloadOutcome::Rejected { error } = &first else {
        return first;
    };
    match load_cache(state, Some(error)) {
        Some(from_copy) => {
            state.store.record_failure(error.clone(), state.now());
            from_copy
        }
        None => first,
    }
}

/// Installs the checked last-known-good copy, if there is one; `refused`:
/// why the source itself was not used (a file source's error), audited
/// with the load.
fn load_cache(state: &AgentState, refused: Option<&str>) -> Option<ReloadOutcome> {
    let cache = state.cache.as_ref()?;
    let mut book = state.sync_book.lock().unwrap_or_else(|p| p.into_inner());
    let checked = cache.load().and_then(|lkg| match lkg {
        None => Ok(None),
        Some(lkg) => check_cached(state, &mut book, &lkg).map(|b| Some((lkg, b))),
    });
    // Held across the install, as a reload holds it: a `forget-user`
    // meanwhile would be undone by the set worked out before it.
    match checked {
        Ok(None) => None,
        Ok(Some((lkg, (bundle, manifest)))) => {
            let revision = bundle.revision.clone();
            let warnings = bundle.warnings.len();
            state.store.record_cache_error(None);
            let contact = super::pulled::contact_as_of(manifest.as_ref(), lkg.confirmed_at);
            let previous = state.store.current();
            let provenance = Provenance {
                fetched_at: Some(lkg.fetched_at),
                etag: lkg.etag.clone(),
                from_cache: true,
                manifest,
            };
            super::bundle_install::put_in_force(
                state,
                &book,
                previous.as_deref(),
                Arc::new(bundle),
                provenance,
                contact,
                state.now(),
            );
            drop(previous);
            drop(book);
            audit(
                state,
                "policy_load",
                "ok",
                &revision,
                format!(
                    "loaded the last known good copy of {} from {}{}",
                    state.source.describe(),
                    cache.path().display(),
                    refused.map_or(String::new(), |e| format!(" (the source is refused: {e})"))
                ),
            );
            Some(ReloadOutcome::Loaded { revision, warnings })
        }
        Err(e) => {
            drop(book);
            let error = format!("last known good refused: {e}");
            eprintln!("mfa-agent: {error}");
            state.store.record_cache_error(Some(error.clone()));
            audit(state, "policy_rejected", "rejected", "", error);
            None
        }
    }
}

fn check_cached(
    state: &AgentState,
    book: &mut SyncBook,
    lkg: &LastKnownGood,
) -> Result<(Bundle, Option<AcceptedManifest>), String> {
    match state.source {
        PolicySource::Manifest(_) => {
            return super::manifest_sync::check_cached(state, book, lkg).map(|(b, m)| (b, Some(m)));
        }
        PolicySource::Path(_) => return super::file_copy::load_copy(lkg).map(|b| (b, None)),
        _ if lkg.files.is_some() => return Err("it is the copy of a file:// source".into()),
        _ => {}
    }
    if !state.signing_keys.is_empty() {
        let sig = lkg
            .signature
            .as_ref()
            .ok_or("it has no signature and cluster.signing_keys are set")?;
        let text = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig);
        verify_bundle_signature(&lkg.bytes, text.as_bytes(), &state.signing_keys)?;
    }
    let text =
        std::str::from_utf8(&lkg.bytes).map_err(|_| "the bundle is not UTF-8".to_string())?;
    load_bundle_str(text, &format!("{} (cached)", lkg.source))
        .map(|b| (b, None))
        .map_err(|e| e.to_string())
}
