//! The reloader thread: polls, SIGHUP, and at start the first pull of a
//! source no cached copy stood in for (the agent serves meanwhile).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::agent_state::AgentState;
use super::reload::{reload_now, ReloadOutcome};
use super::source::fingerprint;
use crate::config::PolicySource;
use crate::sync::{Jitter, PollSchedule};

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
            // policy (its first pull at start is this one), is pulled at
            // once: the first round does not wait for a tick.
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
            let mut first_round = true;
            while !stop.load(Ordering::Relaxed) {
                if !std::mem::take(&mut first_round) {
                    std::thread::sleep(tick);
                }
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
