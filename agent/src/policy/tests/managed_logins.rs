//! Shared and system accounts (`root`, `deploy`): a login that a role's
//! allow `logins` name is cluster-managed, and when who logs in is not
//! known it is decided for every user whose roles could give it.
//!
//! Cases marked "Teleport:" follow `TestCheckAccessToServer` in Teleport's
//! `lib/services/role_test.go` (its subtest names quoted): there the roles
//! are one user's, here the same roles are spread over the users who could
//! be logging in, and the strictest requirement among those allowed holds.

use super::support::{bundle, cap, node, role, summary, user, Ask};
use crate::policy::{Bundle, NodeInfo, ServiceClass};

fn prod3() -> NodeInfo {
    node("prod3", &[("env", "prod")])
}

fn dev1() -> NodeInfo {
    node("dev1", &[("env", "dev")])
}

fn lock(name: &str, target: &str) -> String {
    format!("---\nkind: lock\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  target: {target}\n")
}

/// The example: ops-prod (env=prod, session MFA) gives jerry and
/// root; dev gives each engineer their own login on dev nodes.
fn ops_bundle(cap_mfa: &str, extra: &str) -> Bundle {
    bundle(
        &(cap(&format!("  require_session_mfa: {cap_mfa}"))
            + &role(
                "ops-prod",
                "v7",
                "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry, root]\n    node_labels: {env: prod}",
            )
            + &role(
                "dev",
                "v7",
                "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: dev}",
            )
            + &role(
                "deployer",
                "v7",
                "  allow:\n    logins: ['{{external.deploy_as}}']\n    node_labels: {'*': '*'}",
            )
            + &user("jerry", &["ops-prod", "dev"], &["jerry"])
            + &user("alice", &["dev"], &["alice"])
            + extra),
    )
}

#[test]
fn managed_logins_are_decided_for_their_candidates() {
    let bob_deploys = "---\nkind: user\nversion: v2\nmetadata:\n  name: bob\nspec:\n  roles: [deployer]\n  traits:\n    logins: [bob]\n    deploy_as: [deploy]\n";
    let carol_teams = role(
        "teamer",
        "v7",
        "  allow:\n    logins: ['{{internal.team}}']\n    node_labels: {'*': '*'}",
    ) + "---\nkind: user\nversion: v2\nmetadata:\n  name: carol\nspec:\n  roles: [teamer]\n  traits:\n    team: [builder]\n";
    // (case, bundle extra, node, login, summary, candidates)
    type Case<'a> = (&'a str, &'a str, NodeInfo, &'a str, &'a str, &'a [&'a str]);
    let cases: &[Case] = &[
        // The issue: root on prod3 with a plain key needs jerry's tap.
        (
            "root on prod",
            "",
            prod3(),
            "root",
            "allow session [ops-prod]",
            &["jerry"],
        ),
        // Teleport: "one role is more permissive than another" shows a
        // literal login is granted only where the role's labels match:
        // root on a dev node, where no role gives it, is denied.
        ("root on dev", "", dev1(), "root", "deny off []", &[]),
        // A login no role names keeps the cap's rule (host authentication).
        (
            "postgres unmanaged",
            "",
            prod3(),
            "postgres",
            "allow off []",
            &[],
        ),
        // A template that takes a trait whole: the users whose trait has it.
        (
            "deploy by trait",
            bob_deploys,
            dev1(),
            "deploy",
            "allow off [deployer]",
            &["bob"],
        ),
        // Teleport's ApplyValueTraits refuses internal.team (not an
        // internal trait it expands): that role names no login, so carol's
        // team value is a login no role names, not one refused to her.
        (
            "unsupported internal trait",
            &carol_teams,
            dev1(),
            "builder",
            "allow off []",
            &[],
        ),
    ];
    for (name, extra, n, login, want, candidates) in cases {
        let b = ops_bundle("false", extra);
        let d = Ask::new(n, login).decide(&b);
        assert_eq!(
            (summary(&d), d.user.clone(), d.candidates.clone()),
            (
                want.to_string(),
                None,
                candidates.iter().map(|s| s.to_string()).collect()
            ),
            "{name}: {:?}",
            d.reasons
        );
        let unmanaged = ["postgres", "builder"].contains(login);
        assert_eq!(b.login_is_managed(login), !unmanaged, "{name}");
    }
}

#[test]
fn an_identified_person_is_decided_alone() {
    let b = ops_bundle("false", "");
    let n = prod3();
    // jerry's key or certificate: jerry's roles, jerry's requirement.
    let d = Ask::new(&n, "root").user("jerry").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref()),
        ("allow session [ops-prod]".into(), Some("jerry"))
    );
    // alice's: no role of hers gives root anywhere.
    let d = Ask::new(&n, "root").user("alice").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    // A key of someone the bundle does not know (no roles): not theirs,
    // although the cap alone would not ask for anything.
    let d = Ask::new(&n, "root").user("mallory").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref()),
        ("deny off []".into(), Some("mallory"))
    );
    // For a login no role names, the cap's rule still holds.
    let d = Ask::new(&n, "postgres").user("mallory").decide(&b);
    assert_eq!(summary(&d), "allow off []");
}

/// Teleport: "one role requires MFA but MFA was not verified": two roles
/// give root, one with session MFA on worker nodes. Here each is another
/// user's, so an unknown person on a worker node gets the strictest.
#[test]
fn the_strictest_requirement_among_candidates_holds() {
    let text = cap("  require_session_mfa: false")
        + &role(
            "worker-root",
            "v7",
            "  options:\n    require_session_mfa: true\n  allow:\n    logins: [root]\n    node_labels: {role: worker}",
        )
        + &role(
            "any-root",
            "v7",
            "  options:\n    require_session_mfa: false\n  allow:\n    logins: [root]\n    node_labels: {'*': '*'}",
        )
        + &user("wanda", &["worker-root"], &["wanda"])
        + &user("anna", &["any-root"], &["anna"]);
    let b = bundle(&text);
    let cases = [
        (node("a", &[]), "allow off [any-root]", vec!["anna"]),
        (
            node("b", &[("role", "worker")]),
            "allow session [any-root,worker-root]",
            vec!["anna", "wanda"],
        ),
    ];
    for (n, want, candidates) in cases {
        let d = Ask::new(&n, "root").decide(&b);
        assert_eq!(
            (summary(&d), d.candidates.clone()),
            (
                want.to_string(),
                candidates.into_iter().map(String::from).collect::<Vec<_>>()
            ),
            "{}: {:?}",
            n.name,
            d.reasons
        );
    }
    // The cap's requirement counts as well.
    let b = bundle(&text.replace(
        "require_session_mfa: false\n---\nkind: role",
        "require_session_mfa: true\n---\nkind: role",
    ));
    let d = Ask::new(&node("a", &[]), "root").decide(&b);
    assert_eq!(summary(&d), "allow session [any-root]", "{:?}", d.reasons);
}

/// Teleport: "empty role set has access to nothing" and "no logins means
/// no access": a role that names root but that nobody holds makes root
/// managed, and with no candidate it is denied, not left to the cap.
#[test]
fn a_managed_login_nobody_can_have_is_denied() {
    let text = cap("  require_session_mfa: false")
        + &role(
            "orphan",
            "v7",
            "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}",
        )
        + &user("jerry", &[], &["jerry"]);
    let b = bundle(&text);
    let d = Ask::new(&dev1(), "root").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(d.reasons[0].contains("cluster-managed"), "{:?}", d.reasons);
}

#[test]
fn locks_of_candidates() {
    let n = prod3();
    // A lock on jerry, the only one who could be root here: denied.
    let b = ops_bundle("false", &lock("l1", "{user: jerry}"));
    let d = Ask::new(&n, "root").decide(&b);
    assert_eq!((summary(&d).starts_with("deny"), d.locked), (true, true));
    // A lock on alice, who could never be root on prod3: no effect.
    let b = ops_bundle("false", &lock("l2", "{user: alice}"));
    let d = Ask::new(&n, "root").decide(&b);
    assert_eq!(summary(&d), "allow session [ops-prod]", "{:?}", d.reasons);
    // A lock on the login itself.
    let b = ops_bundle("false", &lock("l3", "{login: root}"));
    let d = Ask::new(&n, "root").decide(&b);
    assert!(d.locked, "{:?}", d.reasons);
}

/// sudo/su ask about the invoking user's login (flow's `policy_login`), so
/// a managed target account changes nothing for them; a managed login
/// asked about for the admin class is decided the same way.
#[test]
fn admin_class_uses_the_same_candidates() {
    let b = ops_bundle("false", "");
    let d = Ask::new(&prod3(), "root")
        .class(ServiceClass::Admin)
        .decide(&b);
    assert_eq!(
        (summary(&d), d.candidates.clone()),
        ("allow session [ops-prod]".into(), vec!["jerry".to_string()])
    );
}

/// A shared login may have thousands of candidates: the decision names
/// them all as candidates, but its reasons (which go into every audit
/// event) stay bounded.
#[test]
fn many_candidates_keep_the_reasons_short() {
    let mut text = cap("  require_session_mfa: false")
        + &role(
            "ops",
            "v7",
            "  options:\n    require_session_mfa: true\n  allow:\n    logins: [root]\n    node_labels: {'*': '*'}",
        );
    for i in 0..300 {
        text += &user(&format!("u{i:03}"), &["ops"], &[]);
    }
    let b = bundle(&text);
    let d = Ask::new(&prod3(), "root").decide(&b);
    assert_eq!(summary(&d), "allow session [ops]");
    assert_eq!(d.candidates.len(), 300);
    assert!(d.reasons.len() < 40, "{}", d.reasons.len());
    assert!(d.reasons.join("; ").len() < 4096, "{:?}", d.reasons);
    assert!(
        d.reasons.iter().any(|r| r.contains("292 more")),
        "{:?}",
        d.reasons
    );
}

/// Each trait a role's logins take whole has a table of its own, and a
/// decision starts its lookups in the first few side by side
/// (`login_candidates::STARTED_TRAITS`); a login found only in a later
/// table is still managed.
#[test]
fn a_login_in_any_trait_table_is_managed() {
    let traits = ["t1", "t2", "t3", "t4", "t5", "t6"];
    let mut text = cap("  require_session_mfa: false");
    for t in traits {
        text += &role(
            &format!("by-{t}"),
            "v7",
            &format!(
                "  allow:\n    logins: ['{{{{external.{t}}}}}']\n    node_labels: {{env: dev}}"
            ),
        );
    }
    for (i, t) in traits.iter().enumerate() {
        text += &format!(
            "---\nkind: user\nversion: v2\nmetadata:\n  name: user{i}\nspec:\n  roles: [by-{t}]\n  traits:\n    {t}: [shared-{t}]\n"
        );
    }
    let b = bundle(&text);
    for (i, t) in traits.iter().enumerate() {
        let login = format!("shared-{t}");
        assert!(b.login_is_managed(&login), "{login}");
        let d = Ask::new(&prod3(), &login).decide(&b);
        // Managed, and its one candidate's role does not reach prod3.
        assert_eq!(summary(&d), "deny off []", "{login}: {:?}", d.reasons);
        assert!(d.reasons[0].contains("cluster-managed"), "{:?}", d.reasons);
        let d = Ask::new(&dev1(), &login).decide(&b);
        assert_eq!(summary(&d), format!("allow off [by-{t}]"), "{login}");
        assert_eq!(d.candidates, [format!("user{i}")], "{login}");
    }
    assert!(!b.login_is_managed("shared-t7"));
}
