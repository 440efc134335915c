//! Manifest mode in the agent: a pull of the publisher directory held
//! against the rollback floor (the highest manifest accepted from this
//! `cluster.source_name`, kept in the state directory under that name, and
//! the manifest of the cached bundle), and the check of that cache at start.
//! Refusals are recorded for `mfactl status`; the caller audits them and
//! keeps the policy in force.

use std::sync::Arc;
use std::time::SystemTime;

use super::agent_state::{AgentState, SyncBook};
use super::policy_store::{Provenance, StoreSnapshot};
use super::pulled::{record_saved, save_contact, Pulled};
use crate::policy::{load_bundle_str, Bundle};
use crate::sync::manifest_check::{check_bundle, check_floor};
use crate::sync::manifest_format::{parse_manifest, Manifest};
use crate::sync::{
    pull_manifest, raise_floor, verify_bundle_signature, AcceptedManifest, CachedManifest,
    FetchedManifest, LastKnownGood, PullDeadline, PullError, PullInput, PullOutcome,
    SIGNATURE_RETRY_DELAY,
};

/// Pulls the manifest and, when it names another bundle, that bundle.
pub(super) fn pull(
    state: &AgentState,
    book: &mut SyncBook,
    now: SystemTime,
    deadline: &PullDeadline,
) -> Result<Pulled, String> {
    let fetcher = match &state.manifest_fetcher {
        Some(Ok(f)) => f,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("no reader for this manifest source".into()),
    };
    let snap = state.store.snapshot();
    let installed = snap.current.as_ref().map(|b| b.revision.clone());
    let etag = snap.current.as_ref().and(snap.provenance.etag.clone());
    let origin = state.source.describe();
    let cluster = &state.config.cluster;
    let input = PullInput {
        keys: &state.signing_keys,
        source_name: cluster.source_name.as_deref().unwrap_or_default(),
        floor: book.manifest_floor.as_ref(),
        installed_sha256: installed.as_deref(),
        etag: etag.as_deref().filter(|_| book.manifest_floor.is_some()),
        now,
        max_bundle_bytes: cluster.max_bundle_bytes,
        retry_delay: SIGNATURE_RETRY_DELAY,
        deadline: *deadline,
        origin: &origin,
    };
    let (manifest, fetched, bundle_bytes) = match pull_manifest(fetcher, &input) {
        Ok(PullOutcome::NotModified) => {
            if let Some(sha) = &installed {
                let contact = book
                    .manifest_floor
                    .as_ref()
                    .map_or(now, |m| m.issued_at.min(now));
                save_contact(state, book, sha, contact);
            }
            return Ok(Pulled::NotModified);
        }
        Ok(PullOutcome::Accepted {
            manifest,
            fetched,
            bundle,
        }) => (manifest, fetched, bundle),
        Err(PullError::Unreachable(e)) => return Err(e),
        Err(PullError::Refused(r)) => {
            state.store.record_refusal(r.clone(), now);
            return Err(r.to_string());
        }
    };
    let accepted = AcceptedManifest::from(manifest.as_ref());
    let got = resolve_bundle(state, &manifest, bundle_bytes, &snap, now, deadline)?;
    save_last_known_good(
        state,
        book,
        &manifest,
        &fetched,
        got.bytes,
        got.fetched_at,
        now,
    );
    record_floor(state, book, &accepted);
    Ok(Pulled::Bundle {
        bundle: got.bundle,
        provenance: Provenance {
            fetched_at: Some(got.fetched_at),
            etag: fetched.etag,
            from_cache: false,
            manifest: Some(accepted),
        },
    })
}

/// The bundle an accepted manifest names, parsed, with its bytes.
struct Resolved {
    bundle: Arc<Bundle>,
    bytes: Vec<u8>,
    fetched_at: SystemTime,
}

/// The bundle of an accepted manifest: the one fetched; or, when it is the
/// bundle in force, that one (its bytes from the cache, or fetched again
/// when the cache does not hold them).
fn resolve_bundle(
    state: &AgentState,
    manifest: &Manifest,
    fetched: Option<Vec<u8>>,
    snap: &StoreSnapshot,
    now: SystemTime,
    deadline: &PullDeadline,
) -> Result<Resolved, String> {
    let origin = state.source.describe();
    let path = &manifest.bundle.path;
    if fetched.is_none() {
        if let Some(current) = &snap.current {
            if let Some(bytes) = cached_bytes(state, &manifest.bundle.sha256) {
                return Ok(Resolved {
                    bundle: Arc::clone(current),
                    bytes,
                    fetched_at: snap.provenance.fetched_at.unwrap_or(now),
                });
            }
        }
    }
    let bytes = match fetched {
        Some(bytes) => bytes,
        None => {
            let fetcher = match &state.manifest_fetcher {
                Some(Ok(f)) => f,
                _ => return Err("no reader for this manifest source".into()),
            };
            let max = state.config.cluster.max_bundle_bytes;
            let bytes = fetcher.fetch_bundle(path, max, deadline)?;
            check_bundle(manifest, &bytes).map_err(|r| {
                state.store.record_refusal(r.clone(), now);
                r.to_string()
            })?;
            bytes
        }
    };
    Ok(Resolved {
        bundle: Arc::new(parse(&bytes, path, &origin)?),
        bytes,
        fetched_at: now,
    })
}

/// Saves the bundle with its manifest, atomically: the floor a restarted
/// agent holds later manifests to. A failure is shown, not fatal.
fn save_last_known_good(
    state: &AgentState,
    book: &mut SyncBook,
    manifest: &Manifest,
    fetched: &FetchedManifest,
    bytes: Vec<u8>,
    fetched_at: SystemTime,
    now: SystemTime,
) {
    let Some(cache) = &state.cache else {
        return;
    };
    let lkg = LastKnownGood {
        source: cache.source.clone(),
        etag: fetched.etag.clone(),
        fetched_at,
        // Contact as of the manifest's issued_at (see `reload::contact_as_of`).
        confirmed_at: manifest.issued_at.min(now),
        sha256: manifest.bundle.sha256.clone(),
        signature: None,
        bytes,
        manifest: Some(CachedManifest {
            bytes: fetched.bytes.clone(),
            signature: fetched.signature.clone(),
        }),
        files: None,
    };
    record_saved(state, book, cache.save(&lkg), now);
}

fn parse(bytes: &[u8], path: &str, origin: &str) -> Result<Bundle, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("the bundle {path} is not UTF-8: {e}"))?;
    load_bundle_str(text, &format!("{origin} → {path}")).map_err(|e| e.to_string())
}

/// The bytes of the cached bundle, when they are the bundle `sha256`.
fn cached_bytes(state: &AgentState, sha256: &str) -> Option<Vec<u8>> {
    let lkg = state.cache.as_ref()?.load().ok()??;
    (lkg.sha256 == sha256).then_some(lkg.bytes)
}

/// The cached bundle of a manifest source. The manifest's serial becomes
/// the floor even when the rest is refused (a key rotated out, a bundle
/// this version cannot read): a restarted agent still refuses a rollback.
pub(super) fn check_cached(
    state: &AgentState,
    book: &mut SyncBook,
    lkg: &LastKnownGood,
) -> Result<(Bundle, AcceptedManifest), String> {
    let cached = lkg
        .manifest
        .as_ref()
        .ok_or("it was saved without a manifest (by a bundle source)")?;
    let origin = format!("{} (cached)", lkg.source);
    let manifest: Manifest = parse_manifest(&cached.bytes, &origin).map_err(|e| e.to_string())?;
    let name = state
        .config
        .cluster
        .source_name
        .as_deref()
        .unwrap_or_default();
    if manifest.source != name {
        return Err(format!(
            "its manifest is for source {:?}, not {name:?} (cluster.source_name)",
            manifest.source
        ));
    }
    // Only a manifest whose signature verifies speaks for the source: an
    // edited serial must not become the floor (every later set would be
    // refused). Its serial was recorded in the floor file when it was
    // accepted, and that floor is read first (`initial_load`).
    verify_bundle_signature(&cached.bytes, &cached.signature, &state.signing_keys)
        .map_err(|e| e.replace("the bundle signature", "its manifest signature"))?;
    // A copy older than the recorded floor (put back from a backup, or
    // written by hand) is a rollback, as a pulled one would be.
    check_floor(&manifest, book.manifest_floor.as_ref()).map_err(|r| r.to_string())?;
    let accepted = AcceptedManifest::from(&manifest);
    record_floor(state, book, &accepted);
    if manifest.bundle.sha256 != lkg.sha256 {
        return Err(format!(
            "its bundle is {}, the manifest names {}",
            lkg.sha256, manifest.bundle.sha256
        ));
    }
    let text =
        std::str::from_utf8(&lkg.bytes).map_err(|_| "the bundle is not UTF-8".to_string())?;
    let bundle = load_bundle_str(text, &origin).map_err(|e| e.to_string())?;
    Ok((bundle, accepted))
}

/// At start, before the first pull: the floor recorded for this source
/// name, so a cache dropped with an old `cluster.source` URL leaves the
/// floor in place. `Err`: the floor file is unreadable (the caller shows
/// and audits it; the cache's floor, if any, holds).
pub(super) fn load_recorded_floor(state: &AgentState, book: &mut SyncBook) -> Result<(), String> {
    let (Some(cache), Some(name)) = (&state.cache, &state.config.cluster.source_name) else {
        return Ok(());
    };
    if let Some(floor) = cache.load_floor(name)? {
        raise_floor(&mut book.manifest_floor, floor);
    }
    Ok(())
}

/// Raises the floor to `accepted` and records it under the source's name.
/// A failure to record is shown, not fatal (the floor in memory holds).
fn record_floor(state: &AgentState, book: &mut SyncBook, accepted: &AcceptedManifest) {
    raise_floor(&mut book.manifest_floor, accepted.clone());
    let Some(cache) = &state.cache else {
        return;
    };
    if book.manifest_floor.as_ref() != Some(accepted) {
        return; // a higher floor is recorded already
    }
    if let Err(e) = cache.save_floor(accepted) {
        eprintln!("mfa-agent: cannot record the rollback floor: {e}");
        state
            .store
            .record_cache_error(Some(format!("cannot record the rollback floor: {e}")));
    }
}
