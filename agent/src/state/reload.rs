//! Loading the policy at start, on SIGHUP, on `mfactl reload`, and when the
//! source changes on disk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::agent_state::AgentState;
use super::source::{fingerprint, load_from_source};
use crate::audit::AuditEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    Loaded { revision: String, warnings: usize },
    Unchanged { revision: String },
    Rejected { error: String },
}

/// Loads the source now. A bad bundle is refused: the last good one stays,
/// the error is kept for `mfactl status` and audited.
pub fn reload_now(state: &AgentState) -> ReloadOutcome {
    let now = state.now();
    match load_from_source(&state.source) {
        Ok(bundle) => {
            let revision = bundle.revision.clone();
            let warnings = bundle.warnings.len();
            let same = state
                .store
                .current()
                .is_some_and(|b| b.revision == revision);
            for w in &bundle.warnings {
                eprintln!("mfa-agent: policy warning: {w}");
            }
            state.store.install(bundle, now);
            crate::sessions::enforce(state);
            if same {
                return ReloadOutcome::Unchanged { revision };
            }
            let ev = AuditEvent::new(
                "policy_load",
                "ok",
                &state.node.name,
                &revision,
                format!("loaded {} ({warnings} warnings)", state.source.describe()),
            );
            state.audit(&ev);
            ReloadOutcome::Loaded { revision, warnings }
        }
        Err(e) => {
            let error = e.to_string();
            state.store.record_error(error.clone());
            let kept = state.revision();
            let ev = AuditEvent::new(
                "policy_rejected",
                "rejected",
                &state.node.name,
                &kept,
                if kept.is_empty() {
                    format!("{error}; no policy is loaded")
                } else {
                    format!("{error}; keeping revision {kept}")
                },
            );
            state.audit(&ev);
            eprintln!("mfa-agent: policy refused: {error}");
            ReloadOutcome::Rejected { error }
        }
    }
}

/// Watches for SIGHUP (through `hup`) and for changes of the source on
/// disk, and reloads. Runs until `stop` is set.
pub fn spawn_reloader(
    state: Arc<AgentState>,
    hup: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("reloader".into())
        .spawn(move || {
            let interval = state.config.cluster.poll_interval;
            let tick = Duration::from_millis(100).min(interval);
            let mut last = fingerprint(&state.source);
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                let hup_now = hup.swap(false, Ordering::Relaxed);
                if !hup_now && waited < interval {
                    continue;
                }
                waited = Duration::ZERO;
                let fp = fingerprint(&state.source);
                if hup_now || fp != last {
                    last = fp;
                    reload_now(&state);
                }
            }
        })
        .expect("spawning the reloader thread")
}
