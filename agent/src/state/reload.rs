//! Loading the policy at start, on SIGHUP, on `mfactl reload`/`sync`, and
//! on every poll: a file source when it changed on disk, an HTTPS source by
//! a conditional pull, within `cluster.timeout` all told. A refused bundle
//! never replaces the one in force.

use std::sync::{Arc, MutexGuard};
use std::time::{Duration, SystemTime};

use pam_mfa_protocol::SyncReport;

use super::agent_state::{AgentState, SyncBook};
use super::audit_trail::audit;
use super::policy_store::Provenance;
use super::pull_turn::{book, book_within, Busy, Pulling};
use super::pulled::{contact_as_of, Pulled};
use super::source::load_with_texts;
use crate::config::PolicySource;
use crate::sync::{diff_bundles, PullDeadline};

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

/// Pulls or loads the source now, installs what is good, and says what
/// changed; after the pull in progress, if any.
pub fn sync_now(state: &AgentState) -> SyncResult {
    sync_with(state, book(state))
}

/// [`sync_now`], unless a pull in progress (or another holder of the sync
/// book) does not end within `wait`: then nothing is pulled, and `Busy`
/// says so (`mfactl sync` and `reload` answer at once).
pub fn sync_now_within(state: &AgentState, wait: Duration) -> Result<SyncResult, Busy> {
    Ok(sync_with(state, book_within(state, wait)?))
}

/// One pull, with the sync book held until the result is made: one pull
/// and install at a time. An HTTPS or manifest source's requests end by
/// `cluster.timeout` from here, all together.
fn sync_with(state: &AgentState, mut book: MutexGuard<'_, SyncBook>) -> SyncResult {
    let now = state.now();
    // Dropped before `book` (a parameter): the mark is gone when the next
    // pull may begin.
    let _pulling = Pulling::begin(&state.store, now);
    let deadline = PullDeadline::after(state.config.cluster.timeout);
    let previous = state.store.current();
    let previous_revision = previous
        .as_ref()
        .map(|b| b.revision.clone())
        .unwrap_or_default();
    let pulled = match &state.source {
        PolicySource::Https(_) => super::https_pull::pull(state, &mut book, now, &deadline),
        PolicySource::Manifest(_) => super::manifest_sync::pull(state, &mut book, now, &deadline),
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
