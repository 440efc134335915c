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
    /// The MFA device id used, if any.
    pub mfa_device: Option<&'a str>,
}

impl Lock {
    /// A lock is in force until its `expires` (forever without one).
    pub fn is_in_force(&self, now: SystemTime) -> bool {
        match self.expires {
            None => true,
            Some(expires) => expires > now,
        }
    }

    /// Whether every target field present holds for `subject`. A lock with a
    /// target field a host cannot judge never matches.
    pub fn matches(&self, subject: &LockSubject<'_>) -> bool {
        let t = &self.target;
        if !t.unsupported.is_empty() {
            return false;
        }
        let eq = |want: &Option<String>, have: Option<&str>| match want {
            None => true,
            Some(w) => have == Some(w.as_str()),
        };
        eq(&t.user, subject.user)
            && match &t.role {
                None => true,
                Some(r) => subject.roles.contains(r),
            }
            && eq(&t.login, Some(subject.login))
            && eq(&t.node, Some(subject.node))
            && eq(&t.server_id, Some(subject.node))
            && eq(&t.mfa_device, subject.mfa_device)
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

    #[test]
    fn each_field_and_all_must_hold() {
        let roles = vec!["access-dev".to_owned(), "access-prod".to_owned()];
        let subject = LockSubject {
            user: Some("jerry"),
            roles: &roles,
            login: "jerry",
            node: "prod3",
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
            (
                LockTarget {
                    user: s("jerry"),
                    node: s("dev1"),
                    ..t()
                },
                false,
            ),
            (
                LockTarget {
                    user: s("jerry"),
                    role: s("admin"),
                    ..t()
                },
                false,
            ),
            (
                LockTarget {
                    user: s("jerry"),
                    unsupported: vec!["windows_desktop".into()],
                    ..t()
                },
                false,
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
