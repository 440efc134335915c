//! `mfa-agent --check` (`AgentState::for_check`) writes nothing in
//! `cluster.state_dir`, for every source kind, while it still judges what
//! a start would load: a check of a candidate agent.yaml (a mirror, a
//! staging publisher) must not leave the running agent's next start a copy
//! of another source, nor raise its rollback floor.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::state::{initial_load, sync_now, AgentState, ReloadOutcome};
use crate::sync::test_publisher::{key_line, Dir};
use crate::sync::CacheWrites;

const T0: u64 = 1_800_000_000;
const OLD: &str = "kind: lock\nversion: v2\nmetadata: {name: old}\nspec: {target: {user: a}}\n";
const NEW: &str = "kind: lock\nversion: v2\nmetadata: {name: new}\nspec: {target: {user: b}}\n";

/// Every file of a directory: its bytes, inode and mtime (a rewrite with
/// the same bytes is a new inode: files are written by rename).
type Snapshot = BTreeMap<String, (Vec<u8>, u64, i64, i64)>;

fn snapshot(dir: &Path) -> Snapshot {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Snapshot::new();
    };
    entries
        .map(|e| {
            let path = e.unwrap().path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if m.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, (bytes, m.ino(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn config(source: &str, state_dir: &Path) -> AgentConfig {
    let manifest_keys = if source.ends_with("/manifest.json") {
        format!(
            "  source_name: prod\n  signing_keys: [\"{}\"]\n",
            key_line()
        )
    } else {
        String::new()
    };
    let text = format!(
        "node: {{name: n1}}\ncluster:\n  source: {source}\n{manifest_keys}  state_dir: {}\n",
        state_dir.display()
    );
    AgentConfig::parse(&text, "agent.yaml").unwrap()
}

fn clock(now: &Arc<Mutex<SystemTime>>) -> crate::state::Clock {
    let n = Arc::clone(now);
    Arc::new(move || *n.lock().unwrap())
}

/// The running agent of `source`.
fn agent(source: &str, state_dir: &Path, now: &Arc<Mutex<SystemTime>>) -> AgentState {
    AgentState::new(config(source, state_dir), AuditSink::Stderr, clock(now)).unwrap()
}

/// `mfa-agent --check` of `source`: its first load's outcome.
fn check(source: &str, state_dir: &Path, now: &Arc<Mutex<SystemTime>>) -> ReloadOutcome {
    let state = AgentState::for_check(config(source, state_dir), clock(now)).unwrap();
    if let Some(cache) = &state.cache {
        assert_eq!(cache.writes(), CacheWrites::Dropped);
    }
    initial_load(&state)
}

fn manifest_source(dir: &Dir) -> String {
    format!("file://{}", dir.manifest().display())
}

/// The running agent pulled `OLD` (serial T0 + 60) from `production`:
/// its cache, contact and floor are in the returned state directory.
fn running_agent_synced(production: &Dir, now: &Arc<Mutex<SystemTime>>) -> PathBuf {
    let state_dir = production.0.join("state");
    production.publish("prod", T0 + 60, T0 + 60, OLD);
    let running = agent(&manifest_source(production), &state_dir, now);
    assert!(matches!(
        sync_now(&running).outcome,
        ReloadOutcome::Loaded { .. }
    ));
    for f in [
        "last-known-good.json",
        "last-contact.json",
        "manifest-floor-prod.json",
    ] {
        assert!(state_dir.join(f).exists(), "{f}");
    }
    state_dir
}

/// The reviewer's lockout: a check of a copy of the publisher directory
/// (another `cluster.source`, the same source_name, a newer serial) saved
/// its pull as the last known good copy, so the production agent's next
/// start, with its source unreachable, refused the copy as another
/// source's and started with no policy.
#[test]
fn a_check_of_another_manifest_source_leaves_the_state_dir_as_it_was() {
    let production = Dir::new("check-prod");
    let candidate = Dir::new("check-candidate");
    let now = Arc::new(Mutex::new(at(T0 + 70)));
    let state_dir = running_agent_synced(&production, &now);
    let before = snapshot(&state_dir);
    candidate.publish("prod", T0 + 120, T0 + 120, NEW);
    *now.lock().unwrap() = at(T0 + 130);

    let checked = check(&manifest_source(&candidate), &state_dir, &now);
    let new_revision = crate::sync::hex_sha256(NEW.as_bytes());
    assert!(
        matches!(&checked, ReloadOutcome::Loaded { revision, .. } if *revision == new_revision),
        "{checked:?}"
    );
    assert_eq!(
        snapshot(&state_dir),
        before,
        "--check wrote in the state dir"
    );

    // Production unreachable: its agent restarts from its own copy.
    std::fs::remove_file(production.manifest()).unwrap();
    let restarted = agent(&manifest_source(&production), &state_dir, &now);
    let start = initial_load(&restarted);
    let old_revision = crate::sync::hex_sha256(OLD.as_bytes());
    assert!(
        matches!(&start, ReloadOutcome::Loaded { revision, .. } if *revision == old_revision),
        "{start:?}"
    );
    assert!(restarted.store.snapshot().provenance.from_cache);
}

/// A check is held to the floor the state directory records (read only):
/// an older signed set is refused as a rollback, and nothing is written.
#[test]
fn a_check_refuses_a_rollback_below_the_recorded_floor_and_writes_nothing() {
    let production = Dir::new("check-floor");
    let staging = Dir::new("check-floor-older");
    let now = Arc::new(Mutex::new(at(T0 + 70)));
    let state_dir = running_agent_synced(&production, &now);
    let before = snapshot(&state_dir);
    staging.publish("prod", T0, T0, NEW);

    let checked = check(&manifest_source(&staging), &state_dir, &now);
    let ReloadOutcome::Rejected { error } = &checked else {
        panic!("a rollback passed the check: {checked:?}")
    };
    assert!(error.contains("rollback"), "{error}");
    assert_eq!(
        snapshot(&state_dir),
        before,
        "--check wrote in the state dir"
    );
}

/// The same source checked: the start would use its cached copy, which the
/// check reads (checking it against the floor) without recording anything.
#[test]
fn a_check_of_the_running_source_reads_its_cache_and_writes_nothing() {
    let production = Dir::new("check-same");
    let now = Arc::new(Mutex::new(at(T0 + 70)));
    let state_dir = running_agent_synced(&production, &now);
    let before = snapshot(&state_dir);
    *now.lock().unwrap() = at(T0 + 200);
    let checked = check(&manifest_source(&production), &state_dir, &now);
    assert!(
        matches!(checked, ReloadOutcome::Loaded { .. }),
        "{checked:?}"
    );
    assert_eq!(
        snapshot(&state_dir),
        before,
        "--check wrote in the state dir"
    );
}

/// A state directory that does not exist yet is not made by a check.
#[test]
fn a_check_makes_no_state_dir() {
    let candidate = Dir::new("check-no-dir");
    let now = Arc::new(Mutex::new(at(T0 + 10)));
    candidate.publish("prod", T0, T0, NEW);
    let state_dir = candidate.0.join("state");
    let checked = check(&manifest_source(&candidate), &state_dir, &now);
    assert!(
        matches!(checked, ReloadOutcome::Loaded { .. }),
        "{checked:?}"
    );
    assert!(!state_dir.exists(), "--check made {}", state_dir.display());
}

/// A `file://` bundle source: its files are judged themselves (the running
/// agent's copy never stands in for them) and no copy is written.
#[test]
fn a_check_of_a_file_source_judges_its_files_and_writes_nothing() {
    let dir = Dir::new("check-file");
    let bundle = dir.0.join("policy.yaml");
    let state_dir = dir.0.join("state");
    let now = Arc::new(Mutex::new(at(T0)));
    std::fs::write(&bundle, OLD).unwrap();
    let source = format!("file://{}", bundle.display());
    let running = agent(&source, &state_dir, &now);
    assert!(matches!(
        initial_load(&running),
        ReloadOutcome::Loaded { .. }
    ));
    assert!(state_dir.join("last-known-good.json").exists());
    let before = snapshot(&state_dir);

    std::fs::write(&bundle, NEW).unwrap();
    let good = check(&source, &state_dir, &now);
    assert!(matches!(good, ReloadOutcome::Loaded { .. }), "{good:?}");
    std::fs::write(&bundle, "kind: lock\n  spec: [\n").unwrap();
    let broken = check(&source, &state_dir, &now);
    assert!(
        matches!(broken, ReloadOutcome::Rejected { .. }),
        "the copy stood in for broken files: {broken:?}"
    );
    assert_eq!(
        snapshot(&state_dir),
        before,
        "--check wrote in the state dir"
    );
}
