//! Manifest mode through the agent's state, with an injected clock: a
//! restarted agent still refuses a rollback (the floor is in the state
//! directory), refusals reach `mfactl status` and keep the policy in force,
//! and past `expires_at` the policy is stale.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::state::{initial_load, sync_now, AgentState, ReloadOutcome, Unusable};
use crate::sync::test_publisher::{key_line, Dir};

const T0: u64 = 1_800_000_000;
const OLD: &str = "kind: lock\nversion: v2\nmetadata: {name: old}\nspec: {target: {user: a}}\n";
const NEW: &str = "kind: lock\nversion: v2\nmetadata: {name: new}\nspec: {target: {user: b}}\n";

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn agent(dir: &Dir, state_dir: &std::path::Path, now: &Arc<Mutex<SystemTime>>) -> AgentState {
    let text = format!(
        "node: {{name: n1}}\ncluster:\n  source: file://{}\n  source_name: prod\n  signing_keys: [\"{}\"]\n  state_dir: {}\n  poll_interval: 1s\n  max_staleness: 0s\n",
        dir.manifest().display(),
        key_line(),
        state_dir.display()
    );
    let cfg = AgentConfig::parse(&text, "agent.yaml").unwrap();
    let n = Arc::clone(now);
    AgentState::new(cfg, AuditSink::Stderr, Arc::new(move || *n.lock().unwrap())).unwrap()
}

#[test]
fn a_restarted_agent_still_refuses_a_rollback() {
    let dir = Dir::new("state-restart");
    let state_dir = dir.0.join("state");
    let now = Arc::new(Mutex::new(at(T0 + 10)));
    dir.publish("prod", T0, T0, OLD);
    let first = agent(&dir, &state_dir, &now);
    assert!(matches!(
        sync_now(&first).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    dir.publish("prod", T0 + 60, T0 + 60, NEW);
    *now.lock().unwrap() = at(T0 + 70);
    assert!(matches!(
        sync_now(&first).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    let newer = first.revision();
    drop(first);

    // Someone restores the older signed set, and the agent restarts.
    dir.publish("prod", T0, T0, OLD);
    let second = agent(&dir, &state_dir, &now);
    assert!(matches!(
        initial_load(&second),
        ReloadOutcome::Loaded { .. }
    ));
    assert_eq!(
        second.revision(),
        newer,
        "the cache serves the newer policy"
    );
    let r = sync_now(&second);
    assert!(matches!(r.outcome, ReloadOutcome::Rejected { .. }), "{r:?}");
    assert!(
        r.report.message.contains("rollback"),
        "{}",
        r.report.message
    );
    assert_eq!(second.revision(), newer, "the newer policy stays");
    let status = crate::ipc::status(&second);
    let m = status.sync.manifest.expect("manifest status");
    assert_eq!(m.serial, Some(T0 + 60));
    assert_eq!(m.last_refusal_kind.as_deref(), Some("rollback"));
    assert!(m.last_refusal.unwrap().contains("lower than"));
    // A refusal is no contact: the policy's contact is still the newest
    // accepted manifest's issued_at.
    assert_eq!(second.store.snapshot().last_contact, Some(at(T0 + 60)));
}

#[test]
fn past_expires_at_the_policy_is_stale_until_a_newer_manifest() {
    let dir = Dir::new("state-expiry");
    let state_dir = dir.0.join("state");
    let now = Arc::new(Mutex::new(at(T0 + 10)));
    dir.publish("prod", T0, T0, OLD);
    let a = agent(&dir, &state_dir, &now);
    assert!(matches!(sync_now(&a).outcome, ReloadOutcome::Loaded { .. }));
    assert!(a.policy_for_decision().is_ok());
    // The publisher stopped: the same manifest is read again past its expiry.
    *now.lock().unwrap() = at(T0 + 3601);
    assert!(!matches!(
        sync_now(&a).outcome,
        ReloadOutcome::Rejected { .. }
    ));
    let e = a.policy_for_decision().unwrap_err();
    assert!(matches!(e, Unusable::ManifestExpired { .. }), "{e}");
    assert!(crate::ipc::status(&a).sync.manifest.unwrap().expired);
    // A new publish of the same bundle makes it fresh again.
    dir.publish("prod", T0 + 3600, T0 + 3600, OLD);
    assert!(!matches!(
        sync_now(&a).outcome,
        ReloadOutcome::Rejected { .. }
    ));
    assert!(a.policy_for_decision().is_ok());
}

/// Contact is as of the newest verified manifest's issued_at: the same
/// signed manifest served again (a server holding back the publisher's new
/// ones) does not make the policy look fresher.
#[test]
fn the_same_manifest_served_again_is_not_new_contact() {
    let dir = Dir::new("state-replay");
    let state_dir = dir.0.join("state");
    let now = Arc::new(Mutex::new(at(T0 + 10)));
    dir.publish("prod", T0, T0, OLD);
    let a = agent(&dir, &state_dir, &now);
    assert!(matches!(sync_now(&a).outcome, ReloadOutcome::Loaded { .. }));
    assert_eq!(a.store.snapshot().last_contact, Some(at(T0)));
    *now.lock().unwrap() = at(T0 + 600);
    let again = sync_now(&a);
    assert!(again.report.ok, "{again:?}");
    assert_eq!(a.store.snapshot().last_contact, Some(at(T0)));
    // A newer manifest moves it.
    dir.publish("prod", T0 + 590, T0 + 590, NEW);
    assert!(matches!(sync_now(&a).outcome, ReloadOutcome::Loaded { .. }));
    assert_eq!(a.store.snapshot().last_contact, Some(at(T0 + 590)));
}

/// The cached bundle belongs to one URL, the floor to the publisher: after
/// `cluster.source` moves to a mirror (the cache of the old URL is refused),
/// an older signed set served by the mirror is still a rollback.
#[test]
fn a_new_source_url_keeps_the_rollback_floor() {
    let first_dir = Dir::new("state-url-a");
    let mirror = Dir::new("state-url-b");
    let state_dir = first_dir.0.join("state");
    let now = Arc::new(Mutex::new(at(T0 + 70)));
    first_dir.publish("prod", T0 + 60, T0 + 60, NEW);
    let first = agent(&first_dir, &state_dir, &now);
    assert!(matches!(
        sync_now(&first).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    drop(first);

    mirror.publish("prod", T0, T0, OLD);
    let moved = agent(&mirror, &state_dir, &now);
    let start = initial_load(&moved);
    let r = sync_now(&moved);
    assert!(
        matches!(r.outcome, ReloadOutcome::Rejected { .. }),
        "start: {start:?}; pull: {r:?}"
    );
    assert!(
        r.report.message.contains("rollback"),
        "{}",
        r.report.message
    );
    assert!(moved.policy_for_decision().is_err(), "no policy was taken");
    // The mirror catching up with the publisher is accepted.
    mirror.publish("prod", T0 + 120, T0 + 120, NEW);
    *now.lock().unwrap() = at(T0 + 130);
    assert!(matches!(
        sync_now(&moved).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    let floor = crate::sync::load_floor(&state_dir, "prod").unwrap();
    assert_eq!(floor.map(|f| f.serial), Some(T0 + 120));
}

/// Syncs `OLD` (serial T0), keeps a copy of its cached set, then syncs
/// `NEW` (serial T0 + 60): the cache and the recorded floor hold `NEW`.
/// Returns the state directory and the copy of `OLD`'s cache file.
fn synced_old_then_new(dir: &Dir, now: &Arc<Mutex<SystemTime>>) -> (std::path::PathBuf, Vec<u8>) {
    let state_dir = dir.0.join("state");
    let cache_file = state_dir.join("last-known-good.json");
    dir.publish("prod", T0, T0, OLD);
    let first = agent(dir, &state_dir, now);
    assert!(matches!(
        sync_now(&first).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    let old_cache = std::fs::read(&cache_file).unwrap();
    dir.publish("prod", T0 + 60, T0 + 60, NEW);
    *now.lock().unwrap() = at(T0 + 70);
    assert!(matches!(
        sync_now(&first).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    (state_dir, old_cache)
}

/// The cached set put back from before the last accepted one (a restored
/// backup, a hand edit) while the source cannot be reached: the recorded
/// floor refuses it at start, as it refuses a pulled one, and the lock that
/// came with the newer set is not dropped by a policy without it.
#[test]
fn a_cached_set_older_than_the_recorded_floor_is_refused_at_start() {
    let dir = Dir::new("state-old-cache");
    let now = Arc::new(Mutex::new(at(T0 + 10)));
    let (state_dir, old_cache) = synced_old_then_new(&dir, &now);
    std::fs::write(state_dir.join("last-known-good.json"), old_cache).unwrap();
    std::fs::remove_file(dir.manifest()).unwrap();
    let restarted = agent(&dir, &state_dir, &now);
    let start = initial_load(&restarted);
    assert!(!matches!(start, ReloadOutcome::Loaded { .. }), "{start:?}");
    assert!(
        restarted.policy_for_decision().is_err(),
        "the older set was put in force"
    );
}

/// A cached manifest whose serial was edited no longer verifies: it is
/// refused, and its serial does not become the floor, so the source's
/// current set is still taken (before: every later set was refused as a
/// rollback, and the host kept no policy).
#[test]
fn an_edited_serial_in_the_cache_does_not_raise_the_floor() {
    let dir = Dir::new("state-edited-serial");
    let now = Arc::new(Mutex::new(at(T0 + 10)));
    let (state_dir, _) = synced_old_then_new(&dir, &now);
    let cache_file = state_dir.join("last-known-good.json");
    let text = std::fs::read_to_string(&cache_file).unwrap();
    let serial = (T0 + 60).to_string();
    assert!(text.contains(&serial), "{text}");
    std::fs::write(&cache_file, text.replace(&serial, &u64::MAX.to_string())).unwrap();
    let restarted = agent(&dir, &state_dir, &now);
    let start = initial_load(&restarted);
    assert!(matches!(start, ReloadOutcome::Loaded { .. }), "{start:?}");
    assert!(restarted.policy_for_decision().is_ok());
    let floor = crate::sync::load_floor(&state_dir, "prod").unwrap();
    assert_eq!(floor.map(|f| f.serial), Some(T0 + 60));
}
