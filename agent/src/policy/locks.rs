//! Which locks are in force and whom they hold.

use std::time::SystemTime;

use super::resources::Lock;

/// Who and what a login is, as lock targets see it.
#[derive(Debug, Clone, Copy)]
pub struct LockSubject<'a> {
    /// The cluster user, when known (an unknown login matches no user target).
    pub user: Option<&'a str>,
    /// The user's roles.
    pub roles: &'a [String],
    /// The host login.
    pub login: &'a str,
    /// This node's name.
    pub node: &'a str,
    /// This node's Teleport host UUID (`node.id` in agent.yaml), when known.
    pub node_id: Option<&'a str>,
    /// The MFA device id used, if any.
    pub mfa_device: Option<&'a str>,
}

impl LockSubject<'_> {
    /// The names this node answers to in `node`/`server_id` targets.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.node).chain(self.node_id.filter(|id| *id != self.node))
    }
}

impl Lock {
    /// A lock is in force until its `expires` (forever without one).
    pub fn is_in_force(&self, now: SystemTime) -> bool {
        match self.expires {
            None => true,
            Some(expires) => expires > now,
        }
    }

    /// Teleport's `ComputeLockTargets` + `LockTarget.Match`: a session is
    /// a set of single-field targets (its user, its login, this node, each
    /// role, its MFA device), and a lock holds it when ANY ONE of them
    /// equals the lock's field of the same name. A lock that sets several
    /// fields therefore locks each of them on its own (`{login: rob,
    /// server_id: db7}` locks rob everywhere and everyone on db7), not their
    /// conjunction. Fields a host cannot judge (`windows_desktop`,
    /// `access_request`, `device`, ...) never match here, but do not stop the
    /// lock's other fields from matching.
    pub fn matches(&self, subject: &LockSubject<'_>) -> bool {
        self.matched_field(subject).is_some()
    }

    /// The first target field (as `field=value`) that holds `subject`.
    pub fn matched_field(&self, subject: &LockSubject<'_>) -> Option<String> {
        let t = &self.target;
        let hit = |field: &str, want: &Option<String>, have: Option<&str>| match (want, have) {
            (Some(w), Some(h)) if w == h => Some(format!("{field}={w}")),
            _ => None,
        };
        hit("user", &t.user, subject.user)
            .or_else(|| {
                t.role
                    .as_ref()
                    .filter(|r| subject.roles.contains(r))
                    .map(|r| format!("role={r}"))
            })
            .or_else(|| hit("login", &t.login, Some(subject.login)))
            .or_else(|| {
                subject.node_names().find_map(|n| {
                    hit("node", &t.node, Some(n))
                        .or_else(|| hit("server_id", &t.server_id, Some(n)))
                })
            })
            .or_else(|| hit("mfa_device", &t.mfa_device, subject.mfa_device))
    }
}

impl Lock {
    /// What `mfactl check` should say about this lock: a lock that sets
    /// several fields locks each of them on its own (RFD 9 advises one
    /// field per lock), and fields a host cannot judge never match here.
    pub fn load_warnings(&self) -> Vec<String> {
        let t = &self.target;
        let mut out = Vec::new();
        let set: Vec<String> = [
            ("user", &t.user, "user {} everywhere"),
            ("role", &t.role, "everyone holding role {}"),
            ("login", &t.login, "login {} on every node"),
            ("node", &t.node, "every login on node {}"),
            ("server_id", &t.server_id, "every login on node {}"),
            (
                "mfa_device",
                &t.mfa_device,
                "every login with MFA device {}",
            ),
        ]
        .into_iter()
        .filter_map(|(_, v, what)| v.as_ref().map(|v| what.replace("{}", v)))
        .collect();
        if set.len() + t.unsupported.len() > 1 {
            out.push(format!(
                "lock {:?} sets several target fields ({}); as in Teleport each field locks on its own, not only their combination: it locks {}",
                self.name,
                t.describe(),
                set.join(", and ")
            ));
        }
        if !t.unsupported.is_empty() {
            out.push(format!(
                "lock {:?} targets {}, which hosts cannot judge: those fields never match here",
                self.name,
                t.unsupported.join(", ")
            ));
        }
        out
    }
}

/// The first lock in force at `now` that matches `subject`.
pub fn find_lock<'b>(
    locks: &'b [Lock],
    subject: &LockSubject<'_>,
    now: SystemTime,
) -> Option<&'b Lock> {
    locks
        .iter()
        .find(|lock| lock.is_in_force(now) && lock.matches(subject))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::policy::resources::LockTarget;

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
        let roles = vec!["access-dev".to_owned(), "access-prod".to_owned()];
        let subject = LockSubject {
            user: Some("jerry"),
            roles: &roles,
            login: "jerry",
            node: "prod3",
            node_id: None,
            mfa_device: Some("dev-1"),
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
            (
                LockTarget {
                    unsupported: vec!["device".into()],
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
}
