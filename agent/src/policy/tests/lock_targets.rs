//! Lock targets as Teleport matches them, and lock expiry.

use std::time::{Duration, SystemTime};

use crate::policy::locks::{find_lock, LockSubject};
use crate::policy::resources::{Lock, LockTarget};

fn lock(target: LockTarget, expires: Option<SystemTime>) -> Lock {
    Lock {
        name: "l".into(),
        target,
        message: None,
        expires,
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// Each target field alone, and several fields: ANY one that names the
/// session locks it (Teleport's `ComputeLockTargets` builds one
/// single-field target per attribute; api/types/lock_test.go
/// `TestLockTargetMatch`: the target `{User, ServerID, MFADevice}`
/// matches a lock setting the same, a disjoint `{Login: root}` does not).
#[test]
fn each_field_alone_and_any_field_of_several() {
    let roles: Vec<std::sync::Arc<str>> = vec!["access-dev".into(), "access-prod".into()];
    let subject = LockSubject {
        user: Some("jerry"),
        roles: &roles,
        login: "jerry",
        node: "prod3",
        node_id: None,
        mfa_device: Some("dev-1"),
        cert_mfa_device: None,
        device: Some("laptop-7"),
        access_requests: &[],
        bot: false,
        bot_instance_id: None,
        join_token_sha256: None,
        bundle_user: None,
    };
    let t = LockTarget::default;
    let cases: Vec<(LockTarget, bool)> = vec![
        (
            LockTarget {
                user: s("jerry"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                user: s("olga"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                role: s("access-prod"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                role: s("admin"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                login: s("jerry"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                login: s("root"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                node: s("prod3"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                node: s("dev1"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                server_id: s("prod3"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                server_id: s("dev1"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                mfa_device: s("dev-1"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                mfa_device: s("dev-2"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                user: s("jerry"),
                node: s("prod3"),
                login: s("jerry"),
                ..t()
            },
            true,
        ),
        // Another node, but jerry: locked (the user field alone holds).
        (
            LockTarget {
                user: s("jerry"),
                node: s("dev1"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                user: s("jerry"),
                role: s("admin"),
                ..t()
            },
            true,
        ),
        // Another login, but this node: locked.
        (
            LockTarget {
                login: s("rob"),
                server_id: s("prod3"),
                ..t()
            },
            true,
        ),
        // This login on another node: locked.
        (
            LockTarget {
                login: s("jerry"),
                server_id: s("db7"),
                ..t()
            },
            true,
        ),
        // Nothing names this session.
        (
            LockTarget {
                user: s("olga"),
                login: s("rob"),
                server_id: s("db7"),
                role: s("admin"),
                mfa_device: s("dev-9"),
                ..t()
            },
            false,
        ),
        // A field a host cannot judge does not stop the others.
        (
            LockTarget {
                user: s("jerry"),
                unsupported: vec!["windows_desktop".into()],
                ..t()
            },
            true,
        ),
        // The certificate's trusted device (`ComputeLockTargets`: the
        // `teleport-device-id` extension), alone or beside other fields.
        (
            LockTarget {
                device: s("laptop-7"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                device: s("laptop-8"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                login: s("rob"),
                device: s("laptop-7"),
                ..t()
            },
            true,
        ),
        // Bot targets hold bot certificates only (see bot_lock_targets).
        (
            LockTarget {
                bot_instance_id: s("b-1"),
                ..t()
            },
            false,
        ),
        (
            LockTarget {
                join_token_sha256: s(&"0".repeat(64)),
                ..t()
            },
            false,
        ),
    ];
    for (target, want) in cases {
        let l = lock(target.clone(), None);
        assert_eq!(l.matches(&subject), want, "{}", target.describe());
    }

    // No user and no device known: user and mfa_device targets never match.
    let anonymous = LockSubject {
        user: None,
        mfa_device: None,
        cert_mfa_device: None,
        ..subject
    };
    assert!(!lock(
        LockTarget {
            user: s("jerry"),
            ..t()
        },
        None
    )
    .matches(&anonymous));
    assert!(!lock(
        LockTarget {
            mfa_device: s("dev-1"),
            ..t()
        },
        None
    )
    .matches(&anonymous));
    assert!(lock(
        LockTarget {
            login: s("jerry"),
            ..t()
        },
        None
    )
    .matches(&anonymous));
}

/// `node.id` (the Teleport host UUID) is matched by `server_id` and
/// `node` beside the node name (`ComputeLockTargets` uses the host UUID).
#[test]
fn node_id_is_matched_beside_the_name() {
    let roles = [];
    let uuid = "5a3e1c2b-0000-4000-8000-00000000d007";
    let subject = LockSubject {
        user: None,
        roles: &roles,
        login: "jerry",
        node: "prod3",
        node_id: Some(uuid),
        mfa_device: None,
        cert_mfa_device: None,
        device: None,
        access_requests: &[],
        bot: false,
        bot_instance_id: None,
        join_token_sha256: None,
        bundle_user: None,
    };
    let t = LockTarget::default;
    let cases = [
        (
            LockTarget {
                server_id: s(uuid),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                node: s(uuid),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                server_id: s("prod3"),
                ..t()
            },
            true,
        ),
        (
            LockTarget {
                server_id: s("5a3e1c2b"),
                ..t()
            },
            false,
        ),
    ];
    for (target, want) in cases {
        assert_eq!(
            lock(target.clone(), None).matches(&subject),
            want,
            "{}",
            target.describe()
        );
    }
    let no_id = LockSubject {
        node_id: None,
        ..subject
    };
    assert!(!lock(
        LockTarget {
            server_id: s(uuid),
            ..t()
        },
        None
    )
    .matches(&no_id));
}

#[test]
fn expiry() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let target = LockTarget {
        login: s("jerry"),
        ..LockTarget::default()
    };
    let cases = [
        (None, true),
        (Some(now + Duration::from_secs(1)), true),
        (Some(now), false),
        (Some(now - Duration::from_secs(1)), false),
    ];
    for (expires, want) in cases {
        assert_eq!(
            lock(target.clone(), expires).is_in_force(now),
            want,
            "{expires:?}"
        );
    }
    let roles = [];
    let subject = LockSubject {
        user: None,
        roles: &roles,
        login: "jerry",
        node: "n",
        node_id: None,
        mfa_device: None,
        cert_mfa_device: None,
        device: None,
        access_requests: &[],
        bot: false,
        bot_instance_id: None,
        join_token_sha256: None,
        bundle_user: None,
    };
    let locks = vec![
        Lock {
            name: "old".into(),
            ..lock(target.clone(), Some(now - Duration::from_secs(60)))
        },
        Lock {
            name: "new".into(),
            ..lock(target.clone(), None)
        },
    ];
    assert_eq!(
        find_lock(&locks, &subject, now).map(|l| l.name.as_str()),
        Some("new")
    );
    assert_eq!(find_lock(&locks[..1], &subject, now), None);
}
