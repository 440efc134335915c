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
