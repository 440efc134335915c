//! Helpers for the policy tests.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::policy::{
    decide, load_bundle_str, Bundle, Decision, LoginQuery, NodeInfo, ServiceClass,
};

/// A fixed "now" for lock tests: 2024-01-01T00:00:00Z.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

pub fn node(name: &str, labels: &[(&str, &str)]) -> NodeInfo {
    NodeInfo {
        name: name.to_owned(),
        id: None,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

pub fn bundle(yaml: &str) -> Bundle {
    load_bundle_str(yaml, "test.yaml").unwrap_or_else(|e| panic!("bundle does not load: {e}"))
}

/// A login query with the usual defaults (ssh, no user given, no device).
pub struct Ask<'a> {
    pub node: &'a NodeInfo,
    pub login: &'a str,
    pub user: Option<&'a str>,
    pub class: ServiceClass,
    pub mfa_device: Option<&'a str>,
    pub now: SystemTime,
    pub lock_view_stale: bool,
}

impl<'a> Ask<'a> {
    pub fn new(node: &'a NodeInfo, login: &'a str) -> Self {
        Ask {
            node,
            login,
            user: None,
            class: ServiceClass::Ssh,
            mfa_device: None,
            now: now(),
            lock_view_stale: false,
        }
    }

    pub fn user(mut self, user: &'a str) -> Self {
        self.user = Some(user);
        self
    }

    pub fn class(mut self, class: ServiceClass) -> Self {
        self.class = class;
        self
    }

    pub fn device(mut self, id: &'a str) -> Self {
        self.mfa_device = Some(id);
        self
    }

    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }

    pub fn stale_locks(mut self) -> Self {
        self.lock_view_stale = true;
        self
    }

    fn query(&self) -> LoginQuery<'a> {
        LoginQuery {
            node: self.node,
            login: self.login,
            user: self.user,
            class: self.class,
            mfa_device: self.mfa_device,
            now: self.now,
            lock_view_stale: self.lock_view_stale,
        }
    }

    pub fn decide(&self, bundle: &Bundle) -> Decision {
        decide(bundle, &self.query())
    }

    /// As a verified certificate's `identity` decides (its roles and
    /// traits, not the bundle's record of the user).
    pub fn decide_as(&self, bundle: &Bundle, identity: &crate::policy::User) -> Decision {
        crate::policy::decide_with_identity(bundle, &self.query(), identity)
    }
}

/// `allow off []` style summary: access, requirement name, allowing roles.
pub fn summary(d: &Decision) -> String {
    format!(
        "{} {} [{}]",
        match d.access {
            crate::policy::Access::Allow => "allow",
            crate::policy::Access::Deny => "deny",
        },
        d.requirement.name(),
        d.roles.join(",")
    )
}

/// A role document.
pub fn role(name: &str, version: &str, body: &str) -> String {
    format!("---\nkind: role\nversion: {version}\nmetadata:\n  name: {name}\nspec:\n{body}\n")
}

/// A user document.
pub fn user(name: &str, roles: &[&str], logins: &[&str]) -> String {
    let quote = |v: &[&str]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "---\nkind: user\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  roles: [{}]\n  traits:\n    logins: [{}]\n",
        quote(roles),
        quote(logins)
    )
}

/// The warnings of `b` beside the one every bundle without a cap carries
/// (tests of other warnings on bundles that need no cap).
pub fn warnings_beside_missing_cap(b: &Bundle) -> Vec<String> {
    b.warnings
        .iter()
        .filter(|w| !w.starts_with("no cluster_auth_preference in the bundle"))
        .cloned()
        .collect()
}

/// A cap document with these spec lines.
pub fn cap(spec: &str) -> String {
    format!(
        "---\nkind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\nspec:\n{spec}\n"
    )
}
