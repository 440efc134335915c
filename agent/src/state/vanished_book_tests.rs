//! The vanished users through real loads of a file source: a reload that
//! drops a user, a restart (the state directory's file), a refused load, a
//! user removed while the agent was stopped, a damaged file, and
//! `forget_vanished_user`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::VANISHED_FILE;
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::policy::{decide, Decision, LoginQuery, NodeInfo, ServiceClass};
use crate::state::{forget_vanished_user, initial_load, reload_now, AgentState, ReloadOutcome};

const CAP_AND_ROLE: &str = "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\nspec:\n  type: local\n  second_factor: \"on\"\n  require_session_mfa: false\n  webauthn:\n    rp_id: example.com\n---\nkind: role\nversion: v7\nmetadata:\n  name: access-prod\nspec:\n  options:\n    require_session_mfa: true\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels:\n      env: prod\n";

const ALICE: &str = "---\nkind: user\nversion: v2\nmetadata:\n  name: alice@example.com\n  expires: \"2099-01-01T00:00:00Z\"\nspec:\n  roles: [access-prod]\n  traits:\n    logins: [alice]\n";

/// A 0700 scratch directory holding `policy/` and `state/`, removed on drop.
struct Dirs(PathBuf);

impl Dirs {
    fn new(tag: &str) -> Dirs {
        let dir = std::env::temp_dir().join(format!(
            "pam-mfa-vanished-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("policy")).unwrap();
        for d in [dir.clone(), dir.join("policy")] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Dirs(dir)
    }

    fn state(&self) -> PathBuf {
        self.0.join("state")
    }

    fn publish(&self, with_alice: bool) {
        let text = if with_alice {
            format!("{CAP_AND_ROLE}{ALICE}")
        } else {
            CAP_AND_ROLE.to_owned()
        };
        let tmp = self.0.join("policy/.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, self.0.join("policy/bundle.yaml")).unwrap();
    }

    /// A started agent: its state directory read, its first load made.
    fn start(&self) -> AgentState {
        let state = self.agent(AuditSink::Stderr);
        state
            .vanished
            .persist_in(&self.state(), &state.source.describe(), state.now())
            .unwrap();
        assert!(matches!(initial_load(&state), ReloadOutcome::Loaded { .. }));
        state
    }

    /// An agent of this directory, auditing to `sink`, nothing read yet.
    fn agent(&self, sink: AuditSink) -> AgentState {
        let cfg = AgentConfig::parse(
            &format!(
                "node: {{name: prod3, labels: {{env: prod}}}}\ncluster:\n  source: file://{}\n  state_dir: {}\n",
                self.0.join("policy").display(),
                self.state().display()
            ),
            "t",
        )
        .unwrap();
        AgentState::new(cfg, sink, Arc::new(std::time::SystemTime::now)).unwrap()
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn login_alice(state: &AgentState) -> Decision {
    let bundle = state.store.current().expect("a policy");
    let node: &NodeInfo = state.node.get();
    decide(
        &bundle,
        &LoginQuery {
            node,
            login: "alice",
            user: None,
            class: ServiceClass::Ssh,
            mfa_device: None,
            now: state.now(),
            lock_view_stale: false,
        },
    )
}

fn verdict(d: &Decision) -> String {
    format!(
        "{} {}",
        if d.is_allowed() { "allow" } else { "deny" },
        d.requirement.name()
    )
}

fn file(state_dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(state_dir.join(VANISHED_FILE)).unwrap()).unwrap()
}

/// The review's reproduction through the agent: alice's user resource gone
/// from the next bundle no longer leaves her login to the cap's `off`;
/// a restart keeps it so; her return forgets it.
#[test]
fn a_user_dropped_by_a_reload_stays_denied_across_a_restart_until_back() {
    let dirs = Dirs::new("reload");
    dirs.publish(true);
    let state = dirs.start();
    assert_eq!(verdict(&login_alice(&state)), "allow session");

    dirs.publish(false);
    assert!(matches!(reload_now(&state), ReloadOutcome::Loaded { .. }));
    let d = login_alice(&state);
    assert_eq!(verdict(&d), "deny off", "{:?}", d.reasons);
    assert!(
        d.reasons[0].contains("alice@example.com"),
        "{:?}",
        d.reasons
    );
    let meta = std::fs::metadata(dirs.state().join(VANISHED_FILE)).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(file(&dirs.state())["vanished"][0]["logins"][1], "alice");
    drop(state);

    let restarted = dirs.start();
    assert_eq!(verdict(&login_alice(&restarted)), "deny off");

    dirs.publish(true);
    assert!(matches!(
        reload_now(&restarted),
        ReloadOutcome::Loaded { .. }
    ));
    assert_eq!(verdict(&login_alice(&restarted)), "allow session");
    assert!(restarted.vanished.snapshot().0.is_empty());
    assert_eq!(file(&dirs.state())["vanished"].as_array().unwrap().len(), 0);
}

/// Removed while the agent was stopped: the first bundle after the start
/// is compared with the users the file kept.
#[test]
fn a_user_removed_while_the_agent_was_stopped_is_missed_at_start() {
    let dirs = Dirs::new("stopped");
    dirs.publish(true);
    drop(dirs.start());
    dirs.publish(false);
    let state = dirs.start();
    assert_eq!(verdict(&login_alice(&state)), "deny off");
}

/// A bundle that is refused (bad YAML, an emptied directory) installs
/// nothing and changes nothing: alice is not taken as removed.
#[test]
fn a_refused_load_changes_nothing() {
    let dirs = Dirs::new("refused");
    dirs.publish(true);
    let state = dirs.start();
    std::fs::write(dirs.0.join("policy/bundle.yaml"), "kind: [").unwrap();
    assert!(matches!(reload_now(&state), ReloadOutcome::Rejected { .. }));
    std::fs::remove_file(dirs.0.join("policy/bundle.yaml")).unwrap();
    assert!(matches!(reload_now(&state), ReloadOutcome::Rejected { .. }));
    assert!(state.vanished.snapshot().0.is_empty());
    assert_eq!(verdict(&login_alice(&state)), "allow session");
}

/// A damaged file is moved aside, and the agent starts with none.
#[test]
fn a_damaged_file_is_moved_aside() {
    let dirs = Dirs::new("damaged");
    std::fs::create_dir_all(dirs.state()).unwrap();
    std::fs::set_permissions(dirs.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(dirs.state().join(VANISHED_FILE), "{not json").unwrap();
    let book = super::VanishedBook::default();
    let why = book
        .persist_in(&dirs.state(), "file:///p", std::time::SystemTime::now())
        .unwrap_err();
    assert!(why.contains("moved aside"), "{why}");
    assert!(!dirs.state().join(VANISHED_FILE).exists());
    assert!(book.snapshot().0.is_empty());
    assert!(book.snapshot().1.is_some(), "status says why");
}

/// A symlink in the file's place is not followed.
#[test]
fn a_symlink_is_not_read() {
    let dirs = Dirs::new("symlink");
    std::fs::create_dir_all(dirs.state()).unwrap();
    std::fs::set_permissions(dirs.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let target = dirs.0.join("elsewhere.json");
    std::fs::write(
        &target,
        r#"{"format":1,"source":"file:///p","users":null,"vanished":[]}"#,
    )
    .unwrap();
    std::os::unix::fs::symlink(&target, dirs.state().join(VANISHED_FILE)).unwrap();
    assert!(super::VanishedBook::default()
        .persist_in(&dirs.state(), "file:///p", std::time::SystemTime::now())
        .is_err());
}

/// `mfactl forget-user`: the login is decided as before alice vanished
/// (the cap's requirement), and a restart does not bring her back.
#[test]
fn a_forgotten_user_is_forgotten_for_good() {
    let dirs = Dirs::new("forget");
    dirs.publish(true);
    let state = dirs.start();
    dirs.publish(false);
    reload_now(&state);
    assert_eq!(verdict(&login_alice(&state)), "deny off");
    assert!(forget_vanished_user(&state, "bob").is_err());
    forget_vanished_user(&state, "alice@example.com").unwrap();
    assert_eq!(verdict(&login_alice(&state)), "allow off");
    drop(state);
    assert_eq!(verdict(&login_alice(&dirs.start())), "allow off");
}

/// Another policy source (another cluster, perhaps): the users its last
/// bundle held are not compared with this one's, so nobody vanishes by the
/// change; users that vanished before stay remembered.
#[test]
fn after_a_source_change_only_the_vanished_users_stay() {
    let dirs = Dirs::new("source");
    dirs.publish(true);
    let state = dirs.start();
    dirs.publish(false);
    reload_now(&state);
    drop(state);
    let path = dirs.state().join(VANISHED_FILE);
    let mut kept = file(&dirs.state());
    kept["source"] = "https://elsewhere.example/bundle.yaml".into();
    kept["users"] = serde_json::json!([["bob", "bob"]]);
    std::fs::write(&path, serde_json::to_vec(&kept).unwrap()).unwrap();
    let book = super::VanishedBook::default();
    assert_eq!(
        book.persist_in(&dirs.state(), "file:///other", std::time::SystemTime::now())
            .unwrap(),
        1
    );
    let next = crate::policy::load_bundle_str(CAP_AND_ROLE, "t").unwrap();
    let (set, new_names) = book.on_install(None, &next, std::time::SystemTime::now());
    assert!(new_names.is_empty(), "bob is not taken as removed");
    assert!(set
        .get("alice@example.com", std::time::SystemTime::now())
        .is_some());
}

/// A state directory made 0700, with `text` as the file (when given).
fn state_dir_with(dirs: &Dirs, text: Option<&str>) {
    std::fs::create_dir_all(dirs.state()).unwrap();
    std::fs::set_permissions(dirs.state(), std::fs::Permissions::from_mode(0o700)).unwrap();
    if let Some(text) = text {
        std::fs::write(dirs.state().join(VANISHED_FILE), text).unwrap();
    }
}

/// A file that is there but cannot be read is left where it is and never
/// written over (the users it holds stay known to the next start); status
/// says why, and it is audited.
#[test]
fn an_unreadable_file_is_left_as_it_is_and_audited() {
    let dirs = Dirs::new("unreadable");
    state_dir_with(&dirs, None);
    // Root reads any mode: a directory in its place cannot be read either.
    std::fs::create_dir(dirs.state().join(VANISHED_FILE)).unwrap();
    let log = dirs.0.join("audit.log");
    let sink = AuditSink::File(std::sync::Mutex::new(std::fs::File::create(&log).unwrap()));
    dirs.publish(true);
    let state = dirs.agent(sink);
    let why = super::restore_vanished_users(&state).unwrap_err();
    assert!(why.contains("left as it is"), "{why}");
    initial_load(&state);
    dirs.publish(false);
    reload_now(&state);
    assert_eq!(verdict(&login_alice(&state)), "deny off", "in memory");
    assert!(
        dirs.state().join(VANISHED_FILE).is_dir(),
        "not moved, not written"
    );
    assert!(state.vanished.snapshot().1.is_some(), "status says why");
    let audited = std::fs::read_to_string(&log).unwrap();
    assert!(audited.contains("vanished_users_unusable"), "{audited}");
}

/// A damaged file is moved aside and audited.
#[test]
fn a_damaged_file_is_audited() {
    let dirs = Dirs::new("damaged-audit");
    state_dir_with(&dirs, Some("{not json"));
    let log = dirs.0.join("audit.log");
    let sink = AuditSink::File(std::sync::Mutex::new(std::fs::File::create(&log).unwrap()));
    let state = dirs.agent(sink);
    assert!(super::restore_vanished_users(&state)
        .unwrap_err()
        .contains("moved aside"));
    let audited = std::fs::read_to_string(&log).unwrap();
    assert!(audited.contains("vanished_users_unusable"), "{audited}");
}

/// Entries whose time a `SystemTime` cannot hold, or that lie in the
/// future, are dropped at start: no panic, the others kept.
#[test]
fn entries_with_impossible_times_are_dropped_without_a_panic() {
    let dirs = Dirs::new("times");
    let now = std::time::SystemTime::now();
    let secs = crate::utc_time::unix_secs(now);
    let text = format!(
        r#"{{"format":1,"source":"file:///p","users":null,"vanished":[
            {{"name":"huge","logins":["h"],"since":{}}},
            {{"name":"later","logins":["l"],"since":{}}},
            {{"name":"ok","logins":["o"],"since":{}}}]}}"#,
        u64::MAX,
        secs + 3600,
        secs - 10
    );
    state_dir_with(&dirs, Some(&text));
    let book = super::VanishedBook::default();
    assert_eq!(book.persist_in(&dirs.state(), "file:///p", now), Ok(1));
    let kept: Vec<String> = book.snapshot().0.iter().map(|e| e.name.clone()).collect();
    assert_eq!(kept, ["ok"]);
}

/// The bundle in force installed again (a manifest naming it anew), and
/// `forget-user`: the vanished users are swapped in, the shared bundle is
/// never copied.
#[test]
fn the_bundle_in_force_is_never_copied_for_its_vanished_users() {
    let dirs = Dirs::new("shared");
    dirs.publish(true);
    let state = dirs.start();
    dirs.publish(false);
    reload_now(&state);
    let in_force = state.store.current().unwrap();
    assert!(in_force
        .vanished()
        .get("alice@example.com", state.now())
        .is_some());
    {
        let book = state.sync_book.lock().unwrap();
        super::super::bundle_install::put_in_force(
            &state,
            &book,
            Some(&in_force),
            Arc::clone(&in_force),
            crate::state::Provenance::default(),
            state.now(),
            state.now(),
        );
    }
    assert!(Arc::ptr_eq(&state.store.current().unwrap(), &in_force));
    forget_vanished_user(&state, "alice@example.com").unwrap();
    let after = state.store.current().unwrap();
    assert!(Arc::ptr_eq(&after, &in_force), "not copied");
    assert!(after.vanished().is_empty(), "the smaller set is in force");
}
