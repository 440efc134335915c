//! Decisions for users whose roles and traits a `user_login_state` gives
//! (Teleport's `services.GetUserOrLoginState`: the state, when there is
//! one, is what certificates and sessions are built from; Access Lists
//! and login rules write it).

use super::login_state_loading::login_state;
use super::support::{bundle, node, role, summary, user, Ask};
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
            .contains("roles [dev, prod] and traits of alice come from user_login_state alice")
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

/// Trait templates take the state's traits: `{{internal.logins}}` gives
/// the logins the state lists, not the user resource's; and the login
/// mapping (whose `logins` hold the login) reads them too.
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
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    // Nobody named: the state's login maps to alice and needs her tap; the
    // user resource's old login maps to nobody any more.
    let d = Ask::new(&n, "alice-new").decide(&b);
    assert_eq!(
        (d.user.as_deref(), summary(&d).as_str()),
        (Some("alice"), "allow session [own]"),
        "{:?}",
        d.reasons
    );
    assert!(b.users_for_login("alice-old").is_empty());
    assert!(!b.login_is_managed("alice-old"));
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
