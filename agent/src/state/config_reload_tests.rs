//! agent.yaml reloads: applied when good, refused whole (with the place, or
//! the keys that need a restart) when not, and the running one stays.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::audit::AuditSink;
use crate::config::{AgentConfig, FailMode};
use crate::state::{reload_config, AgentState, ConfigReload};

struct Fixture {
    dir: PathBuf,
    state: AgentState,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const FIRST: &str =
    "node:\n  name: first\n  labels: {env: dev}\ncluster:\n  source: builtin:example\n";

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!(
        "pam-mfa-config-reload-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agent.yaml");
    std::fs::write(&path, FIRST).unwrap();
    let cfg = AgentConfig::load(&path).unwrap();
    let mut state = AgentState::new(cfg, AuditSink::Stderr, Arc::new(SystemTime::now)).unwrap();
    state.config_path = Some(path);
    Fixture { dir, state }
}

fn write(f: &Fixture, text: &str) {
    std::fs::write(f.dir.join("agent.yaml"), text).unwrap();
}

#[test]
fn a_good_file_puts_the_new_node_labels_and_fail_mode_in_force() {
    let f = fixture("good");
    assert_eq!(reload_config(&f.state), ConfigReload::Unchanged);
    write(
        &f,
        "node:\n  name: prod3\n  labels: {env: prod}\ncluster:\n  source: builtin:example\nfail_mode: open\n",
    );
    let r = reload_config(&f.state);
    assert_eq!(
        r,
        ConfigReload::Applied {
            changed: vec!["node".into(), "fail_mode".into()]
        }
    );
    assert_eq!(f.state.node.name, "prod3");
    assert_eq!(
        f.state.node.labels.get("env").map(String::as_str),
        Some("prod")
    );
    assert_eq!(f.state.config.fail_mode, FailMode::Open);
}

#[test]
fn a_bad_file_is_refused_with_its_place_and_the_running_one_stays() {
    let f = fixture("bad");
    write(
        &f,
        "node:\n  name: prod3\n  labls: {env: prod}\ncluster:\n  source: builtin:example\n",
    );
    let ConfigReload::Refused { error } = reload_config(&f.state) else {
        panic!("a typo was applied");
    };
    let path = f.dir.join("agent.yaml").display().to_string();
    assert!(error.starts_with(&format!("{path}:3:")), "{error}");
    assert!(error.contains("labls"), "{error}");
    assert_eq!(f.state.node.name, "first");
    assert_eq!(
        f.state.node.labels.get("env").map(String::as_str),
        Some("dev")
    );
}

/// Each key changed alone is applied or refused, never `unchanged` (which
/// would leave the running agent on the old value without a word).
#[test]
fn no_key_change_is_taken_for_unchanged() {
    let f = fixture("each-key");
    let base = "node:\n  name: first\n  labels: {env: dev}\n";
    for (key, text) in [
        (
            "cluster.name",
            "cluster:\n  source: builtin:example\n  name: example.com\n",
        ),
        (
            "cluster.max_staleness",
            "cluster:\n  source: builtin:example\n  max_staleness: 2h\n",
        ),
        (
            "cluster.source_name",
            "cluster:\n  source: builtin:example\n  source_name: other\n",
        ),
        (
            "cluster.timeout",
            "cluster:\n  source: builtin:example\n  timeout: 9s\n",
        ),
        (
            "fail_mode",
            "cluster:\n  source: builtin:example\nfail_mode: open\n",
        ),
    ] {
        write(&f, &format!("{base}{text}"));
        let r = reload_config(&f.state);
        assert_ne!(r, ConfigReload::Unchanged, "{key}");
        if let ConfigReload::Refused { error } = &r {
            assert!(error.contains(key), "{key}: {error}");
        }
        // Back to the running file, for the next key alone.
        write(&f, FIRST);
        let back = reload_config(&f.state);
        assert!(
            matches!(back, ConfigReload::Unchanged | ConfigReload::Applied { .. }),
            "{key}: {back:?}"
        );
    }
}

/// `cluster.name` decides which certificates are this cluster's: read at
/// start, so a reload that changes it is refused naming it, and the
/// running name stays.
#[test]
fn a_new_cluster_name_is_refused_naming_it() {
    let f = fixture("cluster-name");
    write(&f, &format!("{FIRST}  name: example.com\n"));
    let ConfigReload::Refused { error } = reload_config(&f.state) else {
        panic!("a cluster.name change was not refused");
    };
    assert!(error.contains("cluster.name"), "{error}");
    assert!(error.contains("systemctl restart mfa-agent"), "{error}");
    assert_eq!(f.state.config.cluster.name, None);
}

#[test]
fn keys_read_only_at_start_are_named_and_nothing_is_applied() {
    let f = fixture("restart");
    write(
        &f,
        "node:\n  name: prod3\nsocket:\n  path: /run/elsewhere.sock\ncluster:\n  source: file:///etc/pam-mfa/policy.d\n",
    );
    let ConfigReload::Refused { error } = reload_config(&f.state) else {
        panic!("a socket change was applied live");
    };
    assert!(error.contains("socket.path"), "{error}");
    assert!(error.contains("cluster.source"), "{error}");
    assert!(error.contains("systemctl restart mfa-agent"), "{error}");
    // The live part (node) was not applied either: the file is taken whole or not at all.
    assert_eq!(f.state.node.name, "first");
    assert_eq!(
        f.state.config.socket.path,
        PathBuf::from(pam_mfa_protocol::DEFAULT_SOCKET)
    );
}

/// agent.yaml without node.id: the node's ID is Teleport's host_uuid, read
/// again at each reload (Teleport may join after the agent started) even
/// when agent.yaml itself is unchanged.
#[test]
fn a_host_uuid_file_gives_node_id_and_is_read_again_at_reload() {
    let f = fixture("host-uuid");
    let teleport = f.dir.join("teleport");
    std::fs::create_dir_all(&teleport).unwrap();
    let text = format!(
        "node:\n  name: first\n  teleport_data_dir: {}\n  labels: {{env: dev}}\ncluster:\n  source: builtin:example\n",
        teleport.display()
    );
    write(&f, &text);
    assert_eq!(
        reload_config(&f.state),
        ConfigReload::Applied {
            changed: vec!["node".into()]
        }
    );
    assert_eq!(f.state.node.id, None);
    assert!(
        f.state.node_id.describe().contains("there is no"),
        "{:?}",
        f.state.node_id
    );
    let uuid = "5e1c2f7a-0000-4000-8000-000000000001";
    let file = teleport.join("host_uuid");
    std::fs::write(&file, format!("{uuid}\n")).unwrap();
    assert_eq!(
        reload_config(&f.state),
        ConfigReload::Applied {
            changed: vec![format!("node.id (from Teleport's {})", file.display())]
        }
    );
    assert_eq!(f.state.node.id.as_deref(), Some(uuid));
    assert_eq!(reload_config(&f.state), ConfigReload::Unchanged);
    // agent.yaml's node.id wins over the file.
    write(&f, &text.replace("  labels", "  id: yaml-id\n  labels"));
    assert!(matches!(
        reload_config(&f.state),
        ConfigReload::Applied { .. }
    ));
    assert_eq!(f.state.node.id.as_deref(), Some("yaml-id"));
    write(&f, &text);
    reload_config(&f.state);
    assert_eq!(f.state.node.id.as_deref(), Some(uuid));
    // Gone with the same settings: kept until a good read (see below).
    std::fs::remove_file(&file).unwrap();
    reload_config(&f.state);
    assert_eq!(f.state.node.id.as_deref(), Some(uuid));
    // Turning the reading off is a real change: the ID goes.
    write(
        &f,
        &text.replace("teleport_data_dir: ", "teleport_data_dir: ''\n  #"),
    );
    reload_config(&f.state);
    assert_eq!(f.state.node.id, None);
}

/// A reload that finds the host_uuid file empty (Teleport writing it in
/// place) or refused (its mode changed) keeps the last good ID, saying so
/// in its source, so locks naming this node by UUID keep holding; a good
/// read, or a new `node.teleport_data_dir`, puts the new one in force.
#[test]
fn a_failed_host_uuid_read_at_reload_keeps_the_last_good_id() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture("host-uuid-kept");
    let teleport = f.dir.join("teleport");
    std::fs::create_dir_all(&teleport).unwrap();
    let file = teleport.join("host_uuid");
    let uuid = "5e1c2f7a-0000-4000-8000-000000000002";
    std::fs::write(&file, uuid).unwrap();
    let text = format!(
        "node:\n  name: first\n  teleport_data_dir: {}\n  labels: {{env: dev}}\ncluster:\n  source: builtin:example\n",
        teleport.display()
    );
    write(&f, &text);
    reload_config(&f.state);
    assert_eq!(f.state.node.id.as_deref(), Some(uuid));

    std::fs::write(&file, "").unwrap();
    let ConfigReload::Applied { changed } = reload_config(&f.state) else {
        panic!("the kept ID was not reported");
    };
    assert_eq!(f.state.node.id.as_deref(), Some(uuid));
    let source = f.state.node_id.describe();
    assert!(source.contains("kept from the last good read"), "{source}");
    assert!(source.contains("it is empty"), "{source}");
    assert!(
        changed.iter().any(|c| c.contains("it is empty")),
        "{changed:?}"
    );
    // The same failure again changes nothing more.
    assert_eq!(reload_config(&f.state), ConfigReload::Unchanged);
    // A label change beside a failed read: the ID stays, and the reload
    // names the failure as well as the node change.
    std::fs::write(&file, uuid).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    write(&f, &text.replace("env: dev", "env: prod"));
    let ConfigReload::Applied { changed } = reload_config(&f.state) else {
        panic!("the label change was not applied");
    };
    assert_eq!(f.state.node.id.as_deref(), Some(uuid));
    assert!(changed.contains(&"node".to_owned()), "{changed:?}");
    assert!(
        changed.iter().any(|c| c.starts_with("node.id (kept")),
        "{changed:?}"
    );

    // A good read puts the file's (new) ID in force.
    let rejoined = "5e1c2f7a-0000-4000-8000-000000000003";
    std::fs::write(&file, rejoined).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
    reload_config(&f.state);
    assert_eq!(f.state.node.id.as_deref(), Some(rejoined));
    assert!(
        f.state.node_id.describe().starts_with("from Teleport's"),
        "{:?}",
        f.state.node_id
    );

    // A new data directory is a real change: its missing file leaves none.
    std::fs::write(&file, "").unwrap();
    let elsewhere = f.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    write(
        &f,
        &text.replace(
            &teleport.display().to_string(),
            &elsewhere.display().to_string(),
        ),
    );
    reload_config(&f.state);
    assert_eq!(f.state.node.id, None);
}
