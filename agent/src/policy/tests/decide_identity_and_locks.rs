//! `decide`: who the cluster user is (identity resolution), the reasons it
//! gives, and locks.

use std::time::Duration;

use super::decide_rules::{dev1, prod3};
use super::support::{bundle, cap, node, now, role, summary, user, Ask};
use crate::policy::Access;

#[test]
fn identity_resolution() {
    let text = cap("  require_session_mfa: false")
        + &role("dev", "v7", "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: dev}")
        + &role("strict", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}")
        + &user("jerry", &["dev"], &["jerry", "deploy"])
        + &user("alice", &["strict"], &["alice", "deploy"])
        + &user("bob", &["dev"], &["shared"])
        + &user("carol", &["dev", "ghost"], &["carol", "shared"]);
    let b = bundle(&text);
    // The user document's first line ("kind: user") is where the warning points.
    let carol_line = text.lines().position(|l| l == "  name: carol").unwrap() - 2;
    assert_eq!(
        b.warnings,
        vec![format!(
            "test.yaml:{carol_line}: user \"carol\" has role \"ghost\", which is not in the bundle"
        )]
    );
    let n = dev1();

    // one user by login trait
    let d = Ask::new(&n, "jerry").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref(), d.known_user),
        ("allow off [dev]".into(), Some("jerry"), true)
    );
    // by name (alice's name is also her login)
    let d = Ask::new(&n, "alice").decide(&b);
    assert_eq!(summary(&d), "allow session [strict]");
    // unknown login: allowed, the cap's requirement, no roles
    let d = Ask::new(&n, "postgres").decide(&b);
    assert_eq!(
        (summary(&d), d.user.clone(), d.known_user),
        ("allow off []".into(), None, false)
    );
    assert!(
        d.reasons[0].contains("maps to no cluster user"),
        "{:?}",
        d.reasons
    );
    // user given: used as is, even for a login that maps to someone else
    let d = Ask::new(&n, "deploy").user("jerry").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref()),
        ("allow off [dev]".into(), Some("jerry"))
    );
    let d = Ask::new(&n, "alice").user("jerry").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    // user given but not in the bundle: unknown, named; no roles, so a
    // login that roles name (deploy, through the traits) is not theirs, and
    // one no role names gets the cap's requirement
    let d = Ask::new(&n, "deploy").user("mallory").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref(), d.known_user),
        ("deny off []".into(), Some("mallory"), false)
    );
    let d = Ask::new(&n, "postgres").user("mallory").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref(), d.known_user),
        ("allow off []".into(), Some("mallory"), false)
    );
    // several users: allowed if one is, strictest requirement of those allowed
    let d = Ask::new(&n, "deploy").decide(&b);
    assert_eq!(
        (summary(&d), d.user.clone()),
        ("allow session [strict,dev]".into(), None)
    );
    assert!(
        d.reasons[0].contains("2 cluster users (alice, jerry)"),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons.iter().any(|r| r.starts_with("jerry: ")),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons.last().unwrap().contains("strictest"),
        "{:?}",
        d.reasons
    );
    // on prod only alice is allowed: her requirement
    let d = Ask::new(&prod3(), "deploy").decide(&b);
    assert_eq!(summary(&d), "allow session [strict]", "{:?}", d.reasons);
    // several users, none allowed
    let d = Ask::new(&prod3(), "shared").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    // a role that is missing denies (Teleport's FetchRoleList fails)
    let d = Ask::new(&n, "carol").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("role(s) ghost of carol not in the bundle")),
        "{:?}",
        d.reasons
    );
    // no role allows: the reason says which roles failed and why
    let d = Ask::new(&prod3(), "jerry").decide(&b);
    let last = d.reasons.last().unwrap();
    assert!(
        last.starts_with(
            "no role of jerry allows login jerry on prod3 (dev: node_labels env=dev did not match"
        ),
        "{last}"
    );
}

#[test]
fn reasons_read_like_sentences() {
    let text = role("access-prod", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry]\n    node_labels: {env: prod}")
        + &user("jerry", &["access-prod"], &["jerry"]);
    let d = Ask::new(&node("prod3", &[("env", "prod")]), "jerry").decide(&bundle(&text));
    assert_eq!(
        d.reasons,
        vec![
            "login jerry maps to cluster user jerry",
            "role access-prod allows login jerry on prod3 (node_labels env=prod matched) and requires session MFA",
            "cluster_auth_preference require_session_mfa is off",
            "requirement: session",
        ]
    );
    let d = Ask::new(&node("prod3", &[("env", "prod")]), "root")
        .user("jerry")
        .decide(&bundle(&text));
    assert_eq!(
        d.reasons.last().map(String::as_str),
        Some("no role of jerry allows login root on prod3 (access-prod: login root is not in its logins [jerry])")
    );
}

fn lock(name: &str, target: &str, extra: &str) -> String {
    format!("---\nkind: lock\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  target: {target}\n{extra}")
}

#[test]
fn locks() {
    let base = role(
        "dev",
        "v7",
        "  allow:\n    logins: [jerry, root]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["dev"], &["jerry"]);
    let n = dev1();
    let cases: &[(&str, &str, bool)] = &[
        ("{user: jerry}", "", true),
        ("{user: olga}", "", false),
        ("{role: dev}", "", true),
        ("{role: prod}", "", false),
        ("{login: jerry}", "", true),
        ("{login: root}", "", false),
        ("{node: dev1}", "", true),
        ("{node: prod3}", "", false),
        ("{server_id: dev1}", "", true),
        ("{server_id: prod3}", "", false),
        ("{mfa_device: key-1}", "", true),
        ("{mfa_device: key-2}", "", false),
        ("{user: jerry, node: dev1, login: jerry}", "", true),
        // Several fields: any one that names the session locks it
        // (Teleport's ComputeLockTargets + LockTarget.Match).
        ("{user: jerry, node: prod3}", "", true),
        ("{login: root, server_id: dev1}", "", true),
        ("{login: jerry, server_id: prod3}", "", true),
        ("{login: root, server_id: prod3}", "", false),
        ("{user: olga, role: prod, mfa_device: key-2}", "", false),
        ("{user: jerry, windows_desktop: desk1}", "", true),
        ("{windows_desktop: desk1}", "", false),
        ("{access_request: 0b8f}", "", false),
        ("{user: jerry}", "  expires: 2023-12-31T23:59:59Z\n", false),
        (
            "{user: jerry}",
            "  expires: '2024-01-01T00:00:00Z'\n",
            false,
        ),
        ("{user: jerry}", "  expires: 2024-01-01T00:00:01Z\n", true),
        (
            "{user: jerry}",
            "  expires: 2024-01-01T00:59:59.5+01:00\n",
            false,
        ),
        (
            "{user: jerry}",
            "  expires: 2024-01-01T01:00:00.5+01:00\n",
            true,
        ),
        (
            "{user: jerry}",
            "  expires: 2024-01-01T02:00:00+01:00\n",
            true,
        ),
        ("{user: jerry, login: ''}", "", true), // empty string = absent
    ];
    for (target, extra, want) in cases {
        let b = bundle(
            &(base.clone()
                + &lock(
                    "l1",
                    target,
                    &format!("  message: Locked for review\n{extra}"),
                )),
        );
        let d = Ask::new(&n, "jerry").device("key-1").decide(&b);
        assert_eq!(d.locked, *want, "{target} {extra}: {:?}", d.reasons);
        if *want {
            assert_eq!(d.access, Access::Deny);
            assert_eq!(d.lock_message.as_deref(), Some("Locked for review"));
            assert!(
                d.reasons.last().unwrap().starts_with("lock l1 ("),
                "{:?}",
                d.reasons
            );
        } else {
            assert_eq!(summary(&d), "allow off [dev]", "{target}");
        }
    }
    // an injected clock: the same lock before and after it expires
    let b = bundle(
        &(base.clone() + &lock("l1", "{login: jerry}", "  expires: 2024-06-01T00:00:00Z\n")),
    );
    let before = Ask::new(&n, "jerry")
        .at(now() + Duration::from_secs(86_400))
        .decide(&b);
    let after = Ask::new(&n, "jerry")
        .at(now() + Duration::from_secs(400 * 86_400))
        .decide(&b);
    assert!(before.locked && !after.locked);
    assert_eq!(before.lock_message, None);
}

#[test]
fn locks_for_unknown_and_ambiguous_users() {
    let text = role(
        "dev",
        "v7",
        "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["dev"], &["jerry", "deploy"])
        + &user("alice", &["dev"], &["alice", "deploy"]);
    let n = dev1();
    // unknown login: a user target does not match, a login target does
    let b = bundle(&(text.clone() + &lock("u", "{user: postgres}", "")));
    assert!(!Ask::new(&n, "postgres").decide(&b).locked);
    let b = bundle(&(text.clone() + &lock("l", "{login: postgres}", "")));
    assert!(Ask::new(&n, "postgres").decide(&b).locked);
    // a user given but unknown: a user target on that name matches
    let b = bundle(&(text.clone() + &lock("u", "{user: mallory}", "")));
    assert!(Ask::new(&n, "postgres").user("mallory").decide(&b).locked);
    // a lock on one of the users a login maps to holds that user alone
    // (Teleport's lock targets are the person's own): the others may log
    // in, once shown to be the one logging in, so a tap is asked for where
    // none was needed
    let open = Ask::new(&n, "deploy").decide(&bundle(&text));
    assert!(open.is_allowed() && open.requirement.is_off());
    let b = bundle(&(text.clone() + &lock("u", "{user: alice}", "  message: gone\n")));
    let d = Ask::new(&n, "deploy").decide(&b);
    assert_eq!((d.access, d.locked), (Access::Allow, false));
    assert!(d.requirement.session, "{:?}", d.reasons);
    assert_eq!(d.candidates, ["jerry"]);
    assert_eq!(d.locked_candidates, ["alice"]);
    assert!(!Ask::new(&n, "jerry").decide(&b).locked);
    // all of them locked: denied, with the first lock's message
    let b = bundle(
        &(text.clone()
            + &lock("u", "{user: alice}", "  message: gone\n")
            + &lock("v", "{user: jerry}", "")),
    );
    let d = Ask::new(&n, "deploy").decide(&b);
    assert_eq!(
        (d.access, d.locked, d.lock_message.as_deref()),
        (Access::Deny, true, Some("gone"))
    );
}
