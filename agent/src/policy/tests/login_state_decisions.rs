//! Decisions for users whose roles and traits a `user_login_state` gives
//! (Teleport's `services.GetUserOrLoginState`: the state, when there is
//! one, is what certificates and sessions are built from; Access Lists
//! and login rules write it).

use std::time::Duration;

use super::login_state_loading::login_state;
use super::support::{bundle, node, now, role, summary, user, Ask};
use crate::policy::{KeyPolicy, ServiceClass};

fn prod3() -> crate::policy::NodeInfo {
    node("prod3", &[("env", "prod")])
}

/// Roles dev (no MFA, every node) and prod (session MFA, env=prod), both
/// allowing `ubuntu`.
fn dev_and_prod() -> String {
    role(
        "dev",
        "v7",
        "  allow:\n    logins: [ubuntu]\n    node_labels: {'*': '*'}",
    ) + &role(
        "prod",
        "v7",
        "  options:\n    require_session_mfa: true\n  allow:\n    logins: [ubuntu]\n    node_labels: {env: prod}",
    )
}

/// The reviewer's case: user alice holds [dev], her login state [dev,
/// prod]. Teleport builds her certificates from the state, so prod's
/// session MFA applies on prod3.
#[test]
fn roles_a_login_state_grants_require_their_mfa() {
    let text = dev_and_prod()
        + &user("alice", &["dev"], &[])
        + &login_state("alice", &["dev", "prod"], &[]);
    let b = bundle(&text);
    let d = Ask::new(&prod3(), "ubuntu").user("alice").decide(&b);
    assert_eq!(summary(&d), "allow session [dev,prod]", "{:?}", d.reasons);
    assert!(
        d.reasons.iter().any(|r| r
            .contains("roles [dev, prod] and traits of alice are those of user_login_state alice and of the user resource together")
            && r.contains("the user resource lists [dev]")),
        "{:?}",
        d.reasons
    );
    // Nobody named: the login is cluster-managed, and alice's roles from
    // the state give it.
    let d = Ask::new(&prod3(), "ubuntu").decide(&b);
    assert_eq!(summary(&d), "allow session [dev,prod]", "{:?}", d.reasons);
    assert_eq!(d.candidates, ["alice"]);
    // Without the state: the user resource's roles, as before.
    let b = bundle(&(dev_and_prod() + &user("alice", &["dev"], &[])));
    let d = Ask::new(&prod3(), "ubuntu").user("alice").decide(&b);
    assert_eq!(summary(&d), "allow off [dev]", "{:?}", d.reasons);
}

/// The key policy counts over all of the user's roles: a role only the
/// login state grants, even one that does not allow this login.
#[test]
fn a_login_state_roles_key_policy_applies() {
    let text = dev_and_prod()
        + &role(
            "keys",
            "v7",
            "  options:\n    require_session_mfa: hardware_key_touch\n  allow:\n    logins: [deploy]\n    node_labels: {env: staging}",
        )
        + &user("alice", &["dev"], &[])
        + &login_state("alice", &["dev", "keys"], &[]);
    let b = bundle(&text);
    let d = Ask::new(&prod3(), "ubuntu").user("alice").decide(&b);
    assert_eq!(
        summary(&d),
        "allow hardware_key_touch [dev]",
        "{:?}",
        d.reasons
    );
    assert_eq!(d.requirement.key_policy, KeyPolicy::HardwareKeyTouch);
    // sudo too: the key policy is the person's.
    let d = Ask::new(&prod3(), "ubuntu")
        .user("alice")
        .class(ServiceClass::Admin)
        .decide(&b);
    assert_eq!(d.requirement.key_policy, KeyPolicy::HardwareKeyTouch);
}

/// Trait templates take the state's traits beside the user resource's:
/// `{{internal.logins}}` gives both; and the login mapping (whose `logins`
/// hold the login) reads them too.
#[test]
fn a_login_state_traits_fill_templates_and_map_logins() {
    let text = role(
        "own",
        "v7",
        "  options:\n    require_session_mfa: true\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}",
    ) + &user("alice", &["own"], &["alice-old"])
        + &login_state("alice", &["own"], &["alice-new"]);
    let b = bundle(&text);
    let n = prod3();
    let d = Ask::new(&n, "alice-new").user("alice").decide(&b);
    assert_eq!(summary(&d), "allow session [own]", "{:?}", d.reasons);
    let d = Ask::new(&n, "alice-old").user("alice").decide(&b);
    assert_eq!(summary(&d), "allow session [own]", "{:?}", d.reasons);
    // Nobody named: both logins map to alice and need her tap.
    let d = Ask::new(&n, "alice-new").decide(&b);
    assert_eq!(
        (d.user.as_deref(), summary(&d).as_str()),
        (Some("alice"), "allow session [own]"),
        "{:?}",
        d.reasons
    );
    assert_eq!(b.users_for_login("alice-old").len(), 1);
    assert!(b.login_is_managed("alice-old"));
}

/// A state older than its user resource (Teleport makes it again only at
/// Teleport logins and Access List changes, which this host does not see):
/// a role added to the user resource since (a deny, an MFA role) applies,
/// and every role the state names stays (one the user resource also held
/// and lost may be an Access List's grant).
#[test]
fn a_stale_login_state_keeps_the_user_resources_roles_now() {
    let deny = role(
        "deny-prod",
        "v7",
        "  deny:\n    logins: [ubuntu]\n    node_labels: {env: prod}",
    );
    // The state was made when alice had [dev]; since, deny-prod was added.
    let text = dev_and_prod()
        + &deny
        + &user("alice", &["dev", "deny-prod"], &["alice"])
        + &login_state("alice", &["dev"], &["alice"]);
    let b = bundle(&text);
    let d = Ask::new(&prod3(), "ubuntu").user("alice").decide(&b);
    assert!(
        summary(&d).starts_with("deny"),
        "the deny role added since applies: {:?}",
        d.reasons
    );
    // dev was taken off the user resource since the state named it (as an
    // original role or an Access List's grant: the state cannot say): both
    // sides' roles, each once.
    let text = dev_and_prod()
        + &user("alice", &["prod"], &["alice"])
        + &login_state("alice", &["dev", "prod", "dev"], &["alice"]);
    let b = bundle(&text);
    let alice = &b.users()["alice"];
    let roles: Vec<&str> = alice.roles.iter().map(|r| &**r).collect();
    assert_eq!(roles, ["prod", "dev"]);
}

/// Locks on a role hold the users a login state gives it (Teleport's
/// `ComputeLockTargets` takes the roles of the certificate, which the
/// state's roles are).
#[test]
fn a_role_lock_holds_users_the_login_state_gives_it() {
    let lock =
        "---\nkind: lock\nversion: v2\nmetadata: {name: no-prod}\nspec:\n  target: {role: prod}\n";
    let text = dev_and_prod()
        + &user("alice", &["dev"], &[])
        + &login_state("alice", &["dev", "prod"], &[])
        + &user("bob", &["dev"], &[])
        + lock;
    let b = bundle(&text);
    let n = node("dev1", &[("env", "dev")]);
    let d = Ask::new(&n, "ubuntu").user("alice").decide(&b);
    assert!(
        d.locked && d.reasons.iter().any(|r| r.contains("lock no-prod")),
        "{:?}",
        d.reasons
    );
    let d = Ask::new(&n, "ubuntu").user("bob").decide(&b);
    assert_eq!(summary(&d), "allow off [dev]", "{:?}", d.reasons);
}

/// A login state with no user resource: Teleport would read its roles,
/// but cannot authenticate the person, so nothing the bundle says of them
/// (their traits, a key registered to them) lets them in.
#[test]
fn a_login_state_without_a_user_allows_nothing() {
    let device = "---\nkind: mfa_device\nversion: v1\nmetadata: {name: key}\nspec: {id: dev-1, user: carol, ssh_sk: {public_key: 'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo='}}\n";
    let text = dev_and_prod() + &login_state("carol", &["dev", "prod"], &["carol"]) + device;
    let b = bundle(&text);
    let n = prod3();
    let d = Ask::new(&n, "ubuntu")
        .user("carol")
        .device("dev-1")
        .decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("has a user_login_state but no user resource")),
        "{:?}",
        d.reasons
    );
    // Her traits' login: denied, not the unknown user's cluster default.
    let d = Ask::new(&n, "carol").decide(&b);
    assert_eq!(d.access, crate::policy::Access::Deny, "{:?}", d.reasons);
    // A shared login: she is no candidate.
    let d = Ask::new(&n, "ubuntu").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(d.candidates.is_empty());
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("mfa_device \"key\" belongs to user \"carol\", who has a user_login_state but no user resource")),
        "{:?}",
        b.warnings
    );
}

/// Past its `metadata.expires` the backend has deleted the state and
/// Teleport reads the user resource again: this bundle holds the state's
/// roles, so the user is denied until a new bundle comes (fail closed).
#[test]
fn an_expired_login_state_denies_until_republished() {
    let state = login_state("alice", &["dev", "prod"], &[]).replace(
        "expires: \"0001-01-01T00:00:00Z\"",
        "expires: \"2024-01-01T01:00:00Z\"",
    );
    let b = bundle(&(dev_and_prod() + &user("alice", &["dev"], &[]) + &state));
    let n = prod3();
    let before = Ask::new(&n, "ubuntu").user("alice").decide(&b);
    assert_eq!(
        summary(&before),
        "allow session [dev,prod]",
        "{:?}",
        before.reasons
    );
    let after = Ask::new(&n, "ubuntu")
        .user("alice")
        .at(now() + Duration::from_secs(3600))
        .decide(&b);
    assert_eq!(
        after.access,
        crate::policy::Access::Deny,
        "{:?}",
        after.reasons
    );
    assert!(
        after
            .reasons
            .iter()
            .any(|r| r.contains("the user_login_state of alice has expired")),
        "{:?}",
        after.reasons
    );
}
