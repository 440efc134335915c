//! Loading the policy at start, on SIGHUP, on `mfactl reload`/`sync`, and
//! on every poll: a file source when it changed on disk, an HTTPS source by
//! a conditional pull. A refused bundle never replaces the one in force.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use pam_mfa_protocol::SyncReport;

use super::agent_state::{AgentState, SyncBook};
use super::audit_trail::audit;
use super::policy_store::Provenance;
use super::pulled::{contact_as_of, save_contact, Pulled};
use super::source::{fingerprint, load_with_texts};
use crate::config::PolicySource;
use crate::policy::load_bundle_str;
use crate::sync::{
    diff_bundles, verify_bundle_signature, Fetched, Jitter, LastKnownGood, PollSchedule,
};

/// How a manifest refusal's text begins (`sync::Refusal`'s Display): audited
/// as `manifest_refused`.
const MANIFEST_REFUSED: &str = "manifest refused";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    Loaded { revision: String, warnings: usize },
    Unchanged { revision: String },
    Rejected { error: String },
}

/// One pull: its outcome, and the report `mfactl sync` prints.
#[derive(Debug, Clone)]
pub struct SyncResult {
    pub outcome: ReloadOutcome,
    pub report: SyncReport,
}

/// Loads (file, builtin) or pulls (HTTPS) the source now. A good file
/// load is also saved as the last-known-good copy (`file_copy`).
pub fn reload_now(state: &AgentState) -> ReloadOutcome {
    sync_now(state).outcome
}

/// Pulls or loads the source now, installs what is good, and says what changed.
pub fn sync_now(state: &AgentState) -> SyncResult {
    // Held until the result is made: one pull and install at a time.
    let mut book = state.sync_book.lock().unwrap_or_else(|p| p.into_inner());
    let now = state.now();
    let previous = state.store.current();
    let previous_revision = previous
        .as_ref()
        .map(|b| b.revision.clone())
        .unwrap_or_default();
    let pulled = match &state.source {
        PolicySource::Https(_) => pull_https(state, &mut book, now),
        PolicySource::Manifest(_) => super::manifest_sync::pull(state, &mut book, now),
        _ => load_with_texts(&state.source)
            .map(|(b, texts)| {
                super::file_copy::save(state, &mut book, &b, texts, now);
                Pulled::Bundle {
                    bundle: Arc::new(b),
                    provenance: Provenance {
                        fetched_at: Some(now),
                        ..Provenance::default()
                    },
                }
            })
            .map_err(|e| e.to_string()),
    };
    match pulled {
        Ok(Pulled::NotModified) => {
            state
                .store
                .record_contact_as_of(contact_as_of(book.manifest_floor.as_ref(), now), now);
            SyncResult {
                outcome: ReloadOutcome::Unchanged {
                    revision: previous_revision.clone(),
                },
                report: sync_report(
                    true,
                    previous_revision.clone(),
                    &previous_revision,
                    Vec::new(),
                    "unchanged (304)".into(),
                ),
            }
        }
        Ok(Pulled::Bundle { bundle, provenance }) => install(
            state,
            &book,
            previous.as_deref(),
            &previous_revision,
            bundle,
            provenance,
            now,
        ),
        Err(error) => refuse(state, &previous_revision, error, now),
    }
}

/// What `mfactl sync` prints about one pull.
fn sync_report(
    ok: bool,
    revision: String,
    previous_revision: &str,
    changes: Vec<String>,
    message: String,
) -> SyncReport {
    SyncReport {
        ok,
        revision,
        previous_revision: previous_revision.to_owned(),
        changes,
        message,
    }
}

/// A good bundle: installed (sessions re-decided), and audited when its
/// revision is new.
fn install(
    state: &AgentState,
    book: &SyncBook,
    previous: Option<&crate::policy::Bundle>,
    previous_revision: &str,
    bundle: Arc<crate::policy::Bundle>,
    provenance: Provenance,
    now: SystemTime,
) -> SyncResult {
    let revision = bundle.revision.clone();
    let warnings = bundle.warnings.len();
    for w in &bundle.warnings {
        eprintln!("mfa-agent: policy warning: {w}");
    }
    let same = previous_revision == revision;
    let changes = if same {
        Vec::new()
    } else {
        diff_bundles(previous, &bundle)
    };
    let contact = contact_as_of(provenance.manifest.as_ref(), now);
    super::bundle_install::put_in_force(state, book, previous, bundle, provenance, contact, now);
    if same {
        return SyncResult {
            outcome: ReloadOutcome::Unchanged {
                revision: revision.clone(),
            },
            report: sync_report(
                true,
                revision.clone(),
                previous_revision,
                Vec::new(),
                format!("unchanged (revision {})", crate::ctl::short(&revision)),
            ),
        };
    }
    audit(
        state,
        "policy_load",
        "ok",
        &revision,
        format!("loaded {} ({warnings} warnings)", state.source.describe()),
    );
    let message = format!(
        "loaded revision {} ({} changes, {warnings} warnings)",
        crate::ctl::short(&revision),
        changes.len()
    );
    SyncResult {
        outcome: ReloadOutcome::Loaded {
            revision: revision.clone(),
            warnings,
        },
        report: sync_report(true, revision, previous_revision, changes, message),
    }
}

/// A refused pull: recorded, the policy in force kept; audited (and logged)
/// unless it is the same error as last time.
fn refuse(
    state: &AgentState,
    previous_revision: &str,
    error: String,
    now: SystemTime,
) -> SyncResult {
    let repeated = state.store.snapshot().last_error.as_deref() == Some(error.as_str());
    state.store.record_failure(error.clone(), now);
    let kept = previous_revision.to_owned();
    if !repeated {
        let kind = if error.starts_with(MANIFEST_REFUSED) {
            "manifest_refused"
        } else {
            "policy_rejected"
        };
        audit(
            state,
            kind,
            "rejected",
            &kept,
            if kept.is_empty() {
                format!("{error}; no policy is loaded")
            } else {
                format!("{error}; keeping revision {kept}")
            },
        );
        eprintln!("mfa-agent: policy refused: {error}");
    }
    SyncResult {
        outcome: ReloadOutcome::Rejected {
            error: error.clone(),
        },
        report: sync_report(
            false,
            kept.clone(),
            previous_revision,
            Vec::new(),
            if kept.is_empty() {
                format!("refused: {error}; no policy is loaded")
            } else {
                format!(
                    "refused: {error}; kept revision {}",
                    crate::ctl::short(&kept)
                )
            },
        ),
    }
}

fn pull_https(state: &AgentState, book: &mut SyncBook, now: SystemTime) -> Result<Pulled, String> {
    let fetcher = match &state.fetcher {
        Some(Ok(f)) => f,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("no HTTPS client for this source".into()),
    };
    let snap = state.store.snapshot();
    let etag = snap.current.as_ref().and(snap.provenance.etag.clone());
    match fetcher.fetch(etag.as_deref())? {
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
                match cache.save(&lkg) {
                    Ok(()) => {
                        book.contact_saved_at = Some(now);
                        state.store.record_cache_error(None);
                    }
                    Err(e) => {
                        let e = format!("cannot save the last known good: {e}");
                        eprintln!("mfa-agent: {e}");
                        state.store.record_cache_error(Some(e));
                    }
                }
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

/// Polls the source (file: on change; HTTPS: a conditional pull, with
/// jitter, and backoff after failures), reloads agent.yaml and the policy
/// on SIGHUP (through `hup`),
/// and ends sessions when the lock view turns stale. Runs until `stop` is set.
/// `jitter` spreads the waits (the daemon seeds it from the kernel; tests
/// may pass a fixed seed).
pub fn spawn_reloader(
    state: Arc<AgentState>,
    hup: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    jitter: Jitter,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("reloader".into())
        .spawn(move || {
            let cluster = &state.config.cluster;
            let interval = cluster.poll_interval;
            let tick = Duration::from_millis(100).min(interval);
            let mut schedule = PollSchedule::new(interval, cluster.max_backoff, jitter);
            let https = matches!(
                state.source,
                PolicySource::Https(_) | PolicySource::Manifest(_)
            );
            let snap = state.store.snapshot();
            // An HTTPS source that started from its cache, or without a
            // policy, is pulled at once.
            let mut due = if https
                && (snap.current.is_none()
                    || snap.provenance.from_cache
                    || snap.last_error.is_some())
            {
                Instant::now()
            } else {
                Instant::now() + schedule.after(true)
            };
            let mut last_fp = fingerprint(&state.source);
            let mut last_ok = snap.current.is_some() && snap.last_error.is_none();
            let mut lock_view_stale = state.freshness().lock_view_stale;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                let hup_now = hup.swap(false, Ordering::Relaxed);
                if hup_now {
                    // agent.yaml first: its node and labels decide the policy's reading.
                    super::reload_config(&state);
                }
                let stale = state.freshness().lock_view_stale;
                if stale != lock_view_stale {
                    lock_view_stale = stale;
                    crate::sessions::enforce(&state);
                }
                if !hup_now && Instant::now() < due {
                    continue;
                }
                let ok = match &state.source {
                    PolicySource::Https(_) | PolicySource::Manifest(_) => {
                        !matches!(reload_now(&state), ReloadOutcome::Rejected { .. })
                    }
                    PolicySource::Path(_) => {
                        let fp = fingerprint(&state.source);
                        if hup_now || fp != last_fp {
                            last_fp = fp;
                            last_ok = !matches!(reload_now(&state), ReloadOutcome::Rejected { .. });
                        } else if last_ok && fp.present() {
                            super::file_copy::note_contact(&state);
                        }
                        true
                    }
                    PolicySource::BuiltinExample => {
                        if hup_now {
                            reload_now(&state);
                        }
                        state.store.record_contact(state.now());
                        true
                    }
                };
                due = Instant::now() + schedule.after(ok);
            }
        })
        .expect("spawning the reloader thread")
}
