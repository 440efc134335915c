//! A file source emptied under a running agent: the policy in force stays
//! (a refused read never replaces it), and a restarted agent starts from
//! its last-known-good copy; only when that copy could not be saved does
//! the agent say the policy would not survive a restart (a fresh agent on
//! the same directory then has none).

use std::path::PathBuf;
use std::sync::Arc;

use super::lost_at_restart;
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::state::{initial_load, reload_now, AgentState, ReloadOutcome};

const BUNDLE: &str = "kind: role\nversion: v7\nmetadata: {name: dev}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: dev}\n";

/// A 0700 scratch policy directory (the policy loader refuses a directory
/// others may write), and beside it the agent's state directory (`state`,
/// not the host's /var/lib/pam-mfa), removed on drop.
struct PolicyDir(PathBuf);

impl PolicyDir {
    fn new() -> PolicyDir {
        let base = std::env::temp_dir().join(format!(
            "pam-mfa-lost-at-restart-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("policy");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        PolicyDir(dir)
    }

    fn state_dir(&self) -> PathBuf {
        self.0.with_file_name("state")
    }
}

impl Drop for PolicyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

fn agent_on(dir: &PolicyDir) -> AgentState {
    let cfg = AgentConfig::parse(
        &format!(
            "node: {{name: n}}\ncluster:\n  source: file://{}\n  state_dir: {}\n",
            dir.0.display(),
            dir.state_dir().display()
        ),
        "t",
    )
    .unwrap();
    AgentState::new(cfg, AuditSink::Stderr, Arc::new(std::time::SystemTime::now)).unwrap()
}

fn lost(state: &AgentState) -> bool {
    lost_at_restart(&state.source, &state.store.snapshot())
}

#[test]
fn an_emptied_policy_dir_keeps_the_policy_and_a_restart_starts_from_its_copy() {
    let dir = PolicyDir::new();
    let bundle = dir.0.join("bundle.yaml");
    std::fs::write(&bundle, BUNDLE).unwrap();
    let state = agent_on(&dir);
    assert!(matches!(initial_load(&state), ReloadOutcome::Loaded { .. }));
    assert!(!lost(&state), "the policy in force is the one on disk");

    // README's "empty policy.d": the running agent keeps its policy...
    std::fs::remove_file(&bundle).unwrap();
    assert!(matches!(reload_now(&state), ReloadOutcome::Rejected { .. }));
    assert!(state.store.current().is_some(), "the policy in force stays");
    assert!(!lost(&state), "its last known good copy is saved");

    // ...and so does a restarted one: from the copy. (Before the copy, a
    // restart had no policy here, and status said `at restart: NO POLICY`.)
    let restarted = agent_on(&dir);
    assert!(matches!(
        initial_load(&restarted),
        ReloadOutcome::Loaded { .. }
    ));
    assert_eq!(restarted.revision(), state.revision());
    assert!(restarted.store.snapshot().provenance.from_cache);
    assert!(
        !lost(&restarted),
        "the copy is still there for the next restart"
    );

    // The bundle back: the policy on disk is the one in force again.
    std::fs::write(&bundle, BUNDLE).unwrap();
    assert!(!matches!(
        reload_now(&state),
        ReloadOutcome::Rejected { .. }
    ));
    assert!(!lost(&state));
}

#[test]
fn without_a_saved_copy_the_policy_is_lost_at_restart_and_status_says_so() {
    let dir = PolicyDir::new();
    // The state directory cannot be made: no copy is saved.
    std::fs::write(dir.state_dir(), "not a directory").unwrap();
    let bundle = dir.0.join("bundle.yaml");
    std::fs::write(&bundle, BUNDLE).unwrap();
    let state = agent_on(&dir);
    assert!(matches!(initial_load(&state), ReloadOutcome::Loaded { .. }));
    let snap = state.store.snapshot();
    let why = snap.cache_error.as_deref().unwrap_or_default();
    assert!(why.contains("cannot save the last known good"), "{why}");
    assert!(!lost(&state), "the policy in force is the one on disk");

    std::fs::remove_file(&bundle).unwrap();
    assert!(matches!(reload_now(&state), ReloadOutcome::Rejected { .. }));
    assert!(state.store.current().is_some(), "the policy in force stays");
    assert!(lost(&state), "and status must say a restart loses it");

    let restarted = agent_on(&dir);
    assert!(matches!(
        initial_load(&restarted),
        ReloadOutcome::Rejected { .. }
    ));
    assert!(restarted.store.current().is_none());
    assert!(!lost(&restarted), "nothing in force, nothing to lose");
}

#[test]
fn only_a_file_source_loses_its_policy_at_restart() {
    // builtin:example (compiled in) is there again after a restart.
    let cfg = AgentConfig::parse(
        "node: {name: n}\ncluster:\n  source: builtin:example\n",
        "t",
    )
    .unwrap();
    let state =
        AgentState::new(cfg, AuditSink::Stderr, Arc::new(std::time::SystemTime::now)).unwrap();
    assert!(matches!(initial_load(&state), ReloadOutcome::Loaded { .. }));
    state
        .store
        .record_failure("x".into(), std::time::SystemTime::now());
    state.store.record_cache_error(Some("y".into()));
    assert!(!lost(&state));
}

/// `chmod` and `chown` change no content and no mtime: the fingerprint
/// still changes, so a file refused for its rights is read again once they
/// are fixed.
#[test]
fn the_fingerprint_changes_with_the_mode_and_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = PolicyDir::new();
    let bundle = dir.0.join("bundle.yaml");
    std::fs::write(&bundle, BUNDLE).unwrap();
    let source = crate::config::PolicySource::Path(dir.0.clone());
    let before = super::fingerprint(&source);
    assert_eq!(before, super::fingerprint(&source));
    std::fs::set_permissions(&bundle, std::fs::Permissions::from_mode(0o664)).unwrap();
    let chmodded = super::fingerprint(&source);
    assert_ne!(before, chmodded, "chmod");
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&bundle, None, Some(1)).unwrap();
        assert_ne!(chmodded, super::fingerprint(&source), "chown");
    }
}
