//! The last-known-good copy of a `file://` source, in `cluster.state_dir`
//! (`last-known-good.json`, the same private file an HTTPS source keeps):
//! without it a bundle file that stops loading (a typo, a stray broken
//! file, `policy.d` emptied) left a restarted agent with no policy, and
//! with `fail_mode: closed` every login refused but root's at a console.
//!
//! The copy is the bundle's files as they were loaded (name and text, in
//! order), so loading them again gives the same bundle, revision included
//! (the revision is the SHA-256 of the texts end to end, which the cache
//! checks). At start the files are read first; the copy is used only when
//! they are refused (`cache_load::initial_load`).

use std::time::SystemTime;

use super::agent_state::{AgentState, SyncBook};
use super::pulled::{record_saved, save_contact};
use super::source::SourceTexts;
use crate::config::PolicySource;
use crate::policy::{load_bundle_sources, Bundle};
use crate::sync::{hex_sha256, CachedFile, LastKnownGood};

/// Saves `bundle`, just loaded from the file source as `texts`, as the
/// last known good copy (unless this agent already saved that revision).
/// A failure is logged and shown (`cache error`); the load still counts.
pub(super) fn save(
    state: &AgentState,
    book: &mut SyncBook,
    bundle: &Bundle,
    texts: Option<SourceTexts>,
    now: SystemTime,
) {
    let (Some(cache), PolicySource::Path(_)) = (&state.cache, &state.source) else {
        return;
    };
    if book.file_copy_revision.as_deref() == Some(bundle.revision.as_str()) {
        return;
    }
    let saved = texts
        .ok_or_else(|| "the source's files could not be read again as loaded".to_string())
        .and_then(|texts| {
            let lkg = copy_of(&cache.source, bundle, texts, now)?;
            cache.save(&lkg)
        });
    if record_saved(state, book, saved, now) {
        book.file_copy_revision = Some(bundle.revision.clone());
    }
}

/// The copy of `bundle` read from `texts` (taken apart as they are put
/// end to end, so a large bundle is not held twice over): refused when
/// they are not the texts it was loaded from (their SHA-256 is its revision).
fn copy_of(
    source: &str,
    bundle: &Bundle,
    texts: SourceTexts,
    now: SystemTime,
) -> Result<LastKnownGood, String> {
    let mut files = Vec::with_capacity(texts.len());
    let mut all = String::with_capacity(texts.iter().map(|(_, t)| t.len()).sum());
    for (origin, text) in texts {
        files.push(CachedFile {
            origin,
            bytes: text.len(),
        });
        all.push_str(&text);
    }
    let sha256 = hex_sha256(all.as_bytes());
    if sha256 != bundle.revision {
        return Err("the source's files changed after they were loaded".into());
    }
    Ok(LastKnownGood {
        source: source.to_owned(),
        etag: None,
        fetched_at: now,
        confirmed_at: now,
        sha256,
        signature: None,
        bytes: all.into_bytes(),
        manifest: None,
        files: Some(files),
    })
}

/// A copy read back at start: loaded from its files (named as cached) and
/// held to its recorded revision.
pub(super) fn load_copy(lkg: &LastKnownGood) -> Result<Bundle, String> {
    let texts: Vec<(String, String)> = lkg
        .file_texts()?
        .into_iter()
        .map(|(origin, text)| (format!("{origin} (cached)"), text))
        .collect();
    let bundle = load_bundle_sources(&texts).map_err(|e| e.to_string())?;
    if bundle.revision != lkg.sha256 {
        return Err(format!(
            "it loads as revision {}, not the recorded {}",
            bundle.revision, lkg.sha256
        ));
    }
    Ok(bundle)
}

/// A poll found the file source as it was after a good load: contact now,
/// written down (at most once a minute) for the copy, so a restart from it
/// counts the policy's age from there, not from when it was saved.
pub(super) fn note_contact(state: &AgentState) {
    let now = state.now();
    state.store.record_contact(now);
    let Some(revision) = state.store.current().map(|b| b.revision.clone()) else {
        return;
    };
    let mut book = state.sync_book.lock().unwrap_or_else(|p| p.into_inner());
    if book.file_copy_revision.as_deref() == Some(revision.as_str()) {
        save_contact(state, &mut book, &revision, now);
    }
}
