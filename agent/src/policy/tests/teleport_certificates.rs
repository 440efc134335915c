//! Certificate identities and locking, as Teleport's node decides them:
//! `disconnect_expired_cert`, a resource access request's resources, a
//! trusted device as a lock target, the locking mode per person.

use std::time::Duration;

use super::support::{bundle, cap, now, role, user, Ask};
use super::teleport_device_and_expiry::{identity, with_identity, worker};
use crate::policy::{AllowedNode, Bundle, NodeLimit, User};

/// lib/srv/ctx.go `ComputeLockTargets`: a certificate's
/// `teleport-device-id` is a target, so `tctl lock --device` holds the
/// logins made with certificates of that device (not those of another).
#[test]
fn a_device_lock_holds_certificates_of_that_device() {
    let text = role("open", "v7", "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}")
        + &user("u", &["open"], &["root"])
        + "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {device: laptop-7}\n";
    let b = bundle(&text);
    let from = |device: Option<&str>| {
        identity("u", &["open"], true).with_certificate(|c| c.device_id = device.map(str::to_owned))
    };
    let d = with_identity(&b, &worker(), &from(Some("laptop-7")));
    assert!(d.locked && !d.is_allowed(), "{:?}", d.reasons);
    assert!(!with_identity(&b, &worker(), &from(Some("laptop-8"))).locked);
    assert!(!with_identity(&b, &worker(), &from(None)).locked);
}

/// lib/srv/ctx.go `ComputeLockTargets` names the certificate's
/// `mfa-verified` device whatever else authenticated the login: a
/// registered key or a tap of another device does not hide it, and neither
/// does a login that needed no MFA (the session's lock targets are these).
#[test]
fn a_lock_on_the_certificates_mfa_device_holds_whatever_else_was_used() {
    let text = role("open", "v7", "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}")
        + &user("u", &["open"], &["root"])
        + "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {mfa_device: yubi-x}\n";
    let b = bundle(&text);
    let issued_with = |device: &str| {
        identity("u", &["open"], false).with_certificate(|c| c.mfa_device = Some(device.into()))
    };
    let decide_with = |id: &crate::policy::User, used: Option<&str>| {
        let node = worker();
        let ask = Ask::new(&node, "root");
        match used {
            Some(device) => ask.device(device).decide_as(&b, id),
            None => ask.decide_as(&b, id),
        }
    };
    for used in [None, Some("sk-y"), Some("yubi-x")] {
        let d = decide_with(&issued_with("yubi-x"), used);
        assert!(d.locked && !d.is_allowed(), "{used:?}: {:?}", d.reasons);
        assert_eq!(
            d.reasons
                .iter()
                .filter(|r| r.starts_with("lock l "))
                .count(),
            1,
            "one lock line: {:?}",
            d.reasons
        );
    }
    assert!(!decide_with(&issued_with("yubi-z"), Some("sk-y")).locked);
}

/// lib/services/role.go `RoleSet.LockingMode` per person: a stale lock
/// view denies the logins whose mode is strict (a role's `options.lock:
/// strict`, else the cap's `locking_mode` unless a role says `best_effort`),
/// not those of other users; a login that maps to several users asks who
/// logs in when one of them is strict (the others may, once shown); a
/// login of no cluster user follows the cap.
#[test]
fn a_stale_lock_view_denies_strict_persons_only() {
    let r = |name: &str, lock: &str, login: &str| {
        role(
            name,
            "v7",
            &format!("  options:\n    lock: {lock}\n  allow:\n    logins: [{login}, shared]\n    node_labels: {{'*': '*'}}"),
        )
    };
    let text = r("strict-role", "strict", "alice")
        + &r("loose-role", "best_effort", "bob")
        + &r("plain-role", "''", "carol")
        + &user("alice", &["strict-role"], &["alice"])
        + &user("bob", &["loose-role"], &["bob"])
        + &user("carol", &["plain-role"], &["carol"]);
    for (cap_mode, want) in [
        (
            "best_effort",
            [
                ("alice", false),
                ("bob", true),
                ("carol", true),
                ("local", true),
            ],
        ),
        (
            "strict",
            [
                ("alice", false),
                ("bob", true),
                ("carol", false),
                ("local", false),
            ],
        ),
    ] {
        let b = bundle(&(text.clone() + &cap(&format!("  locking_mode: {cap_mode}"))));
        for (login, allowed) in want {
            let d = Ask::new(&worker(), login).stale_locks().decide(&b);
            assert_eq!(
                d.is_allowed(),
                allowed,
                "{cap_mode} {login}: {:?}",
                d.reasons
            );
            assert_eq!(d.locked, !allowed, "{cap_mode} {login}");
            let fresh = Ask::new(&worker(), login).decide(&b);
            assert!(
                fresh.is_allowed(),
                "{cap_mode} {login}: {:?}",
                fresh.reasons
            );
        }
        // A shared login: alice (strict) could be the one logging in, so
        // who logs in must be shown, and she is not asked.
        let d = Ask::new(&worker(), "shared").stale_locks().decide(&b);
        assert!(d.is_allowed() && !d.locked, "{cap_mode}: {:?}", d.reasons);
        assert!(d.requirement.session, "{cap_mode}: {:?}", d.reasons);
        assert!(
            d.locked_candidates.contains(&"alice".to_string())
                && !d.candidates.contains(&"alice".to_string())
                && d.candidates.contains(&"bob".to_string()),
            "{cap_mode}: {:?} {:?}",
            d.locked_candidates,
            d.candidates
        );
        let fresh = Ask::new(&worker(), "shared").decide(&b);
        assert!(fresh.locked_candidates.is_empty() && !fresh.requirement.session);
    }
}

/// Teleport's `disconnect_expired_cert` (`AdjustDisconnectExpiredCert`:
/// the cap's or any role's) with `getDisconnectExpiredCertFromSSHIdentity`:
/// a certificate identity has access until its hard deadline (its
/// `prev-identity-expires` for a per-session MFA certificate), then its
/// session ends. Without the option an expired certificate's session stays.
#[test]
fn disconnect_expired_cert_ends_access_at_the_certificates_end() {
    let role_with = |flag: &str| {
        role(
            "open",
            "v7",
            &format!("  options:\n    disconnect_expired_cert: {flag}\n  allow:\n    logins: [root]\n    node_labels: {{'*': '*'}}"),
        )
    };
    let ended = |text: String, secs_ago: i64| {
        let b = bundle(&text);
        let end = if secs_ago >= 0 {
            now() - Duration::from_secs(secs_ago as u64)
        } else {
            now() + Duration::from_secs((-secs_ago) as u64)
        };
        let id = identity("u", &["open"], false).with_certificate(|c| c.cert_expires = Some(end));
        !with_identity(&b, &worker(), &id).is_allowed()
    };
    assert!(ended(role_with("true"), 0));
    assert!(ended(role_with("'yes'"), 5));
    assert!(!ended(role_with("true"), -5));
    assert!(!ended(role_with("false"), 5));
    assert!(!ended(role_with("'maybe'"), 5));
    assert!(ended(
        role_with("false") + &cap("  disconnect_expired_cert: true"),
        5
    ));
    assert!(!ended(
        role_with("false") + &cap("  disconnect_expired_cert: false"),
        5
    ));
}

/// A certificate limited to these nodes, each unconstrained.
fn limited_to(nodes: &[&str]) -> User {
    limited_with(
        &nodes
            .iter()
            .map(|n| (*n, NodeLimit::Unconstrained))
            .collect::<Vec<_>>(),
    )
}

fn limited_with(nodes: &[(&str, NodeLimit)]) -> User {
    identity("u", &["open"], false).with_certificate(|c| {
        c.allowed_nodes = Some(
            nodes
                .iter()
                .map(|(name, limit)| AllowedNode {
                    name: name.to_string(),
                    limit: limit.clone(),
                })
                .collect(),
        )
    })
}

fn open_to_root() -> Bundle {
    bundle(
        &(role(
            "open",
            "v7",
            "  allow:\n    logins: [root, deploy]\n    node_labels: {'*': '*'}",
        ) + &user("u", &["open"], &["root"])),
    )
}

/// lib/services/access_checker.go `CheckAccess` → `checkAllowedResources`:
/// a certificate of a resource access request (`teleport-allowed-resources`)
/// reaches only the nodes it names (by resource name, the host UUID:
/// `node.id`), whatever its roles allow; without the extension only the
/// roles decide.
#[test]
fn a_resource_request_certificate_reaches_only_its_nodes() {
    let b = open_to_root();
    let mut this = worker();
    this.id = Some("uuid-b".into());
    assert!(with_identity(&b, &this, &limited_to(&["uuid-a", "uuid-b"])).is_allowed());
    let d = with_identity(&b, &this, &limited_to(&["uuid-a"]));
    assert!(!d.is_allowed(), "{:?}", d.reasons);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("this node (uuid-b) is not one of them")),
        "{:?}",
        d.reasons
    );
    assert!(!with_identity(&b, &this, &limited_to(&[])).is_allowed());
    assert!(with_identity(&b, &this, &identity("u", &["open"], false)).is_allowed());
    // The node's name is not its resource name: a request for a node
    // called like this host's name does not reach it.
    assert!(!with_identity(&b, &this, &limited_to(&["b"])).is_allowed());
}

/// Teleport compares the resource's name with the node resource's name
/// (`resourceID.Name == r.GetName()`, its host UUID), never with its host
/// name: without `node.id` this node is none of a request's resources, even
/// one named like `node.name`, and the reason says what to set.
#[test]
fn without_node_id_no_resource_request_reaches_this_node() {
    let b = open_to_root();
    let this = worker();
    assert_eq!(this.id, None);
    for nodes in [&["b"][..], &["uuid-b", "b"], &[]] {
        let d = with_identity(&b, &this, &limited_to(nodes));
        assert!(!d.is_allowed(), "{nodes:?}: {:?}", d.reasons);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains("without node.id this node is none of them")
                    && r.contains("set node.id")),
            "{:?}",
            d.reasons
        );
    }
    // A certificate not limited is decided by its roles alone, as before.
    assert!(with_identity(&b, &this, &identity("u", &["open"], false)).is_allowed());
}

/// RFD 0228 and lib/services `WithConstraints`: a node the request limited
/// to some logins (an `ssh` constraint) is reached only with those (and
/// only where the roles allow them too); a constraint of a kind pam-mfa
/// does not apply reaches nothing.
#[test]
fn a_resource_requests_login_constraint_limits_the_login() {
    let b = open_to_root();
    let mut this = worker();
    this.id = Some("uuid-b".into());
    let as_login = |login: &str, u: &User| Ask::new(&this, login).decide_as(&b, u);
    let deploy_only = limited_with(&[
        ("uuid-a", NodeLimit::Unconstrained),
        (
            "uuid-b",
            NodeLimit::Logins(vec!["deploy".into(), "web".into()]),
        ),
    ]);
    assert!(as_login("deploy", &deploy_only).is_allowed());
    let d = as_login("root", &deploy_only);
    assert!(!d.is_allowed(), "{:?}", d.reasons);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("only as deploy, web, not as root")),
        "{:?}",
        d.reasons
    );
    // The constraint narrows the roles; it grants no login they do not.
    assert!(!as_login("web", &deploy_only).is_allowed());
    // Another node's constraint does not touch this one.
    let elsewhere = limited_with(&[
        ("uuid-a", NodeLimit::Logins(vec!["deploy".into()])),
        ("uuid-b", NodeLimit::Unconstrained),
    ]);
    assert!(as_login("root", &elsewhere).is_allowed());
    let unsupported = limited_with(&[(
        "uuid-b",
        NodeLimit::Unsupported("a constraint of kind database".into()),
    )]);
    for login in ["root", "deploy"] {
        let d = as_login(login, &unsupported);
        assert!(!d.is_allowed(), "{:?}", d.reasons);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains("a constraint of kind database")),
            "{:?}",
            d.reasons
        );
    }
}

/// lib/srv/ctx.go `ComputeLockTargets` with `AccessRequestsToLockTargets`:
/// a certificate's `teleport-active-requests` are targets, so `tctl lock
/// --access-request` holds the logins made with certificates of that
/// request.
#[test]
fn an_access_request_lock_holds_certificates_of_that_request() {
    let text = role("open", "v7", "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}")
        + &user("u", &["open"], &["root"])
        + "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {access_request: req-1}\n";
    let b = bundle(&text);
    let with = |requests: &[&str]| {
        identity("u", &["open"], false).with_certificate(|c| {
            c.access_requests = requests.iter().map(|r| r.to_string()).collect()
        })
    };
    let d = with_identity(&b, &worker(), &with(&["req-0", "req-1"]));
    assert!(d.locked && !d.is_allowed(), "{:?}", d.reasons);
    assert!(!with_identity(&b, &worker(), &with(&["req-2"])).locked);
    assert!(!with_identity(&b, &worker(), &with(&[])).locked);
}
