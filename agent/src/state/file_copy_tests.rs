//! A `file://` source's last-known-good copy, through the agent's state with
//! an injected clock: a restart whose files are refused starts from the
//! copy (marked as from the cache, the files' error kept), files that load
//! win over it, a copy of another source is never used, and the copy is no
//! fresher than the last time the files were seen good.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::state::{initial_load, reload_now, AgentState, ReloadOutcome, Unusable};
use crate::sync::BUNDLE_FILE;

const T0: u64 = 1_800_000_000;
const ROLE: &str = "kind: role\nversion: v7\nmetadata: {name: dev}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: dev}\n";
const LOCK: &str =
    "kind: lock\nversion: v2\nmetadata: {name: l1}\nspec: {target: {user: mallory}}\n";
const NEWER_LOCK: &str =
    "kind: lock\nversion: v2\nmetadata: {name: l2}\nspec: {target: {user: alice}}\n";

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

/// Scratch policy directories (0700, as the loader wants) and the agents'
/// state directory, removed on drop.
struct Dirs(PathBuf);

impl Dirs {
    fn new(tag: &str) -> Dirs {
        let base = std::env::temp_dir().join(format!(
            "pam-mfa-file-copy-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        for d in ["a", "b"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
            std::fs::set_permissions(
                base.join(d),
                std::os::unix::fs::PermissionsExt::from_mode(0o700),
            )
            .unwrap();
        }
        Dirs(base)
    }

    fn policy(&self, which: &str) -> PathBuf {
        self.0.join(which)
    }

    fn write(&self, which: &str, name: &str, text: &str) {
        let tmp = self.policy(which).join(".tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, self.policy(which).join(name)).unwrap();
    }

    /// An agent of policy directory `which`, its clock at `now`.
    fn agent(&self, which: &str, now: &Arc<Mutex<SystemTime>>) -> AgentState {
        let cfg = AgentConfig::parse(
            &format!(
                "node: {{name: n1, labels: {{env: dev}}}}\ncluster:\n  source: file://{}\n  state_dir: {}\n  max_staleness: 24h\n",
                self.policy(which).display(),
                self.0.join("state").display()
            ),
            "t",
        )
        .unwrap();
        let n = Arc::clone(now);
        AgentState::new(cfg, AuditSink::Stderr, Arc::new(move || *n.lock().unwrap())).unwrap()
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A directory of two files loaded, saved as the copy: its revision.
fn loaded_twice_over(dirs: &Dirs, now: &Arc<Mutex<SystemTime>>) -> String {
    dirs.write("a", "10-roles.yaml", ROLE);
    dirs.write("a", "20-locks.yaml", LOCK);
    let first = dirs.agent("a", now);
    assert!(matches!(initial_load(&first), ReloadOutcome::Loaded { .. }));
    assert_eq!(first.store.snapshot().cache_error, None);
    assert!(dirs.0.join("state").join(BUNDLE_FILE).is_file());
    first.revision()
}

#[test]
fn a_restart_with_the_files_broken_starts_from_the_copy() {
    let dirs = Dirs::new("broken");
    let now = Arc::new(Mutex::new(at(T0)));
    let revision = loaded_twice_over(&dirs, &now);

    // A typo in one file, then a reboot an hour later.
    dirs.write("a", "20-locks.yaml", "kind: lock\n  spec: [\n");
    *now.lock().unwrap() = at(T0 + 3600);
    let restarted = dirs.agent("a", &now);
    assert!(matches!(
        initial_load(&restarted),
        ReloadOutcome::Loaded { .. }
    ));
    assert_eq!(
        restarted.revision(),
        revision,
        "the same bundle, revision and all"
    );
    let snap = restarted.store.snapshot();
    assert!(snap.provenance.from_cache, "status: from cache: yes");
    let error = snap.last_error.unwrap_or_default();
    assert!(
        error.contains("20-locks.yaml"),
        "last error names the file: {error}"
    );
    assert_eq!(snap.cache_error, None);
    let bundle = restarted.policy_for_decision().expect("a usable policy");
    assert_eq!(bundle.locks().len(), 1, "the lock of the copy is in force");

    // Emptied, and restarted again: still the copy.
    std::fs::remove_file(dirs.policy("a").join("10-roles.yaml")).unwrap();
    std::fs::remove_file(dirs.policy("a").join("20-locks.yaml")).unwrap();
    let again = dirs.agent("a", &now);
    assert!(matches!(initial_load(&again), ReloadOutcome::Loaded { .. }));
    assert_eq!(again.revision(), revision);
    let error = again.store.snapshot().last_error.unwrap_or_default();
    assert!(error.contains("no *.yaml"), "{error}");

    // Fixed: read at the next load, no longer from the cache.
    dirs.write("a", "10-roles.yaml", ROLE);
    assert!(!matches!(
        reload_now(&again),
        ReloadOutcome::Rejected { .. }
    ));
    let snap = again.store.snapshot();
    assert!(!snap.provenance.from_cache);
    assert_eq!(snap.last_error, None);
}

#[test]
fn files_that_load_at_restart_win_over_the_copy() {
    let dirs = Dirs::new("wins");
    let now = Arc::new(Mutex::new(at(T0)));
    let old = loaded_twice_over(&dirs, &now);
    // A newer lock written while the agent was down.
    dirs.write("a", "20-locks.yaml", NEWER_LOCK);
    let restarted = dirs.agent("a", &now);
    assert!(matches!(
        initial_load(&restarted),
        ReloadOutcome::Loaded { .. }
    ));
    assert_ne!(restarted.revision(), old);
    let snap = restarted.store.snapshot();
    assert!(!snap.provenance.from_cache);
    assert_eq!(snap.last_error, None);
    let locks = snap.current.unwrap();
    assert_eq!(locks.locks()[0].name, "l2", "the files' newer lock");

    // And the copy follows: broken now, a restart has the newer bundle.
    let newer = restarted.revision();
    std::fs::remove_file(dirs.policy("a").join("20-locks.yaml")).unwrap();
    std::fs::remove_file(dirs.policy("a").join("10-roles.yaml")).unwrap();
    let again = dirs.agent("a", &now);
    initial_load(&again);
    assert_eq!(again.revision(), newer);
}

#[test]
fn a_copy_of_another_source_is_not_used() {
    let dirs = Dirs::new("other");
    let now = Arc::new(Mutex::new(at(T0)));
    loaded_twice_over(&dirs, &now);
    // cluster.source now names directory b, which does not load.
    let moved = dirs.agent("b", &now);
    assert!(matches!(
        initial_load(&moved),
        ReloadOutcome::Rejected { .. }
    ));
    let snap = moved.store.snapshot();
    assert!(snap.current.is_none(), "no policy: not a's");
    let why = snap.cache_error.unwrap_or_default();
    assert!(why.contains("not from the configured source"), "{why}");
}

#[test]
fn a_tampered_copy_is_refused() {
    let dirs = Dirs::new("tampered");
    let now = Arc::new(Mutex::new(at(T0)));
    loaded_twice_over(&dirs, &now);
    let path = dirs.0.join("state").join(BUNDLE_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("mallory", "nobody1")).unwrap();
    std::fs::remove_file(dirs.policy("a").join("20-locks.yaml")).unwrap();
    std::fs::remove_file(dirs.policy("a").join("10-roles.yaml")).unwrap();
    let restarted = dirs.agent("a", &now);
    initial_load(&restarted);
    let snap = restarted.store.snapshot();
    assert!(snap.current.is_none());
    let why = snap.cache_error.unwrap_or_default();
    assert!(why.contains("tampered"), "{why}");
}

/// The copy is as fresh as the last time the files were seen good (here:
/// its save), never as fresh as the restart: past max_staleness from
/// there it is stale, as the running agent's policy would have been.
#[test]
fn the_copy_is_no_fresher_than_the_last_good_read() {
    let dirs = Dirs::new("fresh");
    let now = Arc::new(Mutex::new(at(T0)));
    loaded_twice_over(&dirs, &now);
    dirs.write("a", "20-locks.yaml", "{{{");
    *now.lock().unwrap() = at(T0 + 25 * 3600);
    let restarted = dirs.agent("a", &now);
    assert!(matches!(
        initial_load(&restarted),
        ReloadOutcome::Loaded { .. }
    ));
    let age = restarted.freshness().since_contact.unwrap();
    assert!(age >= Duration::from_secs(25 * 3600), "{age:?}");
    assert!(matches!(
        restarted.policy_for_decision(),
        Err(Unusable::Stale { .. })
    ));
}

/// A poll that finds the files as they were counts as contact, and is
/// written down for the copy: a restart from it counts its age from that
/// poll, not from the save.
#[test]
fn a_poll_that_finds_the_files_good_freshens_the_copy() {
    let dirs = Dirs::new("poll");
    let now = Arc::new(Mutex::new(at(T0)));
    dirs.write("a", "10-roles.yaml", ROLE);
    let first = dirs.agent("a", &now);
    assert!(matches!(initial_load(&first), ReloadOutcome::Loaded { .. }));
    *now.lock().unwrap() = at(T0 + 20 * 3600);
    super::file_copy::note_contact(&first);
    drop(first);

    dirs.write("a", "10-roles.yaml", "kind: role\n  - x\n");
    *now.lock().unwrap() = at(T0 + 25 * 3600);
    let restarted = dirs.agent("a", &now);
    assert!(matches!(
        initial_load(&restarted),
        ReloadOutcome::Loaded { .. }
    ));
    let age = restarted.freshness().since_contact.unwrap();
    assert!(
        (Duration::from_secs(5 * 3600)..Duration::from_secs(6 * 3600)).contains(&age),
        "{age:?}"
    );
    assert!(
        restarted.policy_for_decision().is_ok(),
        "fresh for 19h more"
    );
}
