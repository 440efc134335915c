//! Which locks name another node than this one (`mfactl doctor` warns of
//! a missing node.id only while such a lock is in force).

use crate::policy::resources::{Lock, LockTarget};

fn lock(target: LockTarget) -> Lock {
    Lock {
        name: "l".into(),
        target,
        message: None,
        expires: None,
    }
}

#[test]
fn a_node_lock_names_another_node_unless_it_names_this_one() {
    let uuid = "5a3e1c2b-0000-4000-8000-00000000d007";
    let t = LockTarget::default;
    let by = |node: Option<&str>, server_id: Option<&str>| {
        lock(LockTarget {
            node: node.map(str::to_owned),
            server_id: server_id.map(str::to_owned),
            ..t()
        })
    };
    let fqdn = format!("{uuid}.example.com");
    for (l, no_id, with_id) in [
        // This node by name: not another, with or without its UUID.
        (by(Some("prod3"), None), false, false),
        (by(None, Some("prod3")), false, false),
        // By a UUID: another node unless node.id says it is this one's.
        (by(None, Some(uuid)), true, false),
        (by(Some(&fqdn), None), true, false),
        (
            by(None, Some("ffffffff-0000-4000-8000-000000000000")),
            true,
            true,
        ),
        // Several fields, one naming this node: it holds this node.
        (by(Some("prod3"), Some(uuid)), false, false),
        // No node field: names no node.
        (
            lock(LockTarget {
                login: Some("root".into()),
                ..t()
            }),
            false,
            false,
        ),
    ] {
        let d = l.target.describe();
        assert_eq!(l.names_another_node("prod3", None), no_id, "{d}");
        assert_eq!(l.names_another_node("prod3", Some(uuid)), with_id, "{d}");
    }
}

/// Without node.id, the node locks in force that name another node are
/// counted and said to be not judged for this node (the agent's log at
/// each load, `mfactl explain`); with it, or with none in force, nothing.
#[test]
fn node_locks_elsewhere_are_said_unjudged_only_without_node_id() {
    use crate::policy::{node_locks_elsewhere, unjudged_node_locks};
    use std::time::{Duration, SystemTime};
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let by_id = |id: &str, expires: Option<SystemTime>| Lock {
        expires,
        ..lock(LockTarget {
            server_id: Some(id.into()),
            ..LockTarget::default()
        })
    };
    let uuid = "5e1c2f7a-0000-4000-8000-000000000001";
    let locks = vec![
        by_id(uuid, None),
        by_id("5e1c2f7a-0000-4000-8000-000000000002", None),
        // Expired: in force no more.
        by_id("5e1c2f7a-0000-4000-8000-000000000003", Some(now)),
        // This node by name: judged.
        by_id("prod3", None),
    ];
    assert_eq!(node_locks_elsewhere(&locks, "prod3", None, now), 2);
    assert_eq!(node_locks_elsewhere(&locks, "prod3", Some(uuid), now), 1);
    let said = unjudged_node_locks(&locks, "prod3", None, now).expect("said");
    assert!(
        said.starts_with("server_id/node locks not judged for this node: 2 lock(s) in force name a node other than prod3")
            && said.contains("set node.id")
            && said.contains("host_uuid"),
        "{said}"
    );
    assert_eq!(unjudged_node_locks(&locks, "prod3", Some(uuid), now), None);
    assert_eq!(unjudged_node_locks(&locks[3..], "prod3", None, now), None);
}
