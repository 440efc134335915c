//! The roles' literal node_labels are matched once per bundle and node
//! (`node_label_cache`): a decision from those kept outcomes must be the
//! decision made by matching at the login, on every node, for selectors with
//! and without templates, regexes (valid or not) and wildcards.

use super::support::{bundle, node, role, user, Ask};
use crate::policy::{Bundle, Decision, NodeInfo};

/// Allow and deny selectors: literal ones (kept), and templated ones
/// (matched per user, even in a prepared bundle).
const SELECTORS: &[&str] = &[
    "{env: prod}",
    "{env: [dev, prod], tier: web}",
    "{'*': '*'}",
    "{env: '*'}",
    "{region: 'eu-*'}",
    "{tier: '^w(eb|orker)$'}",
    "{tier: '^(web$'}",
    "{team: '{{external.team}}'}",
    "{'{{external.key}}': prod}",
    "{env: ['{{external.missing}}', prod]}",
    "{}",
];

fn generated_bundle() -> String {
    let mut text = String::new();
    for (i, allow) in SELECTORS.iter().enumerate() {
        // Each allow selector once with no deny, and once beside a deny
        // selector further down the list.
        let deny = SELECTORS[(i * 7 + 3) % SELECTORS.len()];
        let body = |deny: &str| {
            format!(
                "  allow:\n    logins: ['{{{{internal.logins}}}}', root]\n    node_labels: {allow}\n  deny:\n    node_labels: {deny}\n  options:\n    require_session_mfa: {}",
                i % 2 == 0
            )
        };
        text.push_str(&role(&format!("a{i}"), "v7", &body("{}")));
        text.push_str(&role(&format!("d{i}"), "v7", &body(deny)));
    }
    let names = |from: usize| -> Vec<String> {
        (from..from + 3)
            .map(|k| format!("{}{}", ["a", "d"][k % 2], k % SELECTORS.len()))
            .collect()
    };
    for u in 0..SELECTORS.len() * 2 {
        text.push_str(&format!(
            "---\nkind: user\nversion: v2\nmetadata:\n  name: user{u}\nspec:\n  roles: [{}]\n  traits:\n    logins: [u{u}]\n    team: [team-{}]\n    key: [{}]\n",
            names(u).join(", "),
            u % 3,
            ["env", "tier"][u % 2]
        ));
    }
    text
}

fn nodes() -> Vec<NodeInfo> {
    vec![
        node(
            "prod1",
            &[
                ("env", "prod"),
                ("tier", "web"),
                ("team", "team-1"),
                ("region", "eu-west"),
            ],
        ),
        node(
            "dev1",
            &[("env", "dev"), ("tier", "worker"), ("team", "team-2")],
        ),
        node("bare", &[]),
        node(
            "prod2",
            &[("env", "prod"), ("tier", "db"), ("team", "team-0")],
        ),
    ]
}

fn decisions(b: &Bundle, node: &NodeInfo) -> Vec<Decision> {
    (0..SELECTORS.len() * 2)
        .flat_map(|u| [format!("u{u}"), "root".to_owned()])
        .map(|login| Ask::new(node, &login).decide(b))
        .collect()
}

#[test]
fn kept_outcomes_decide_as_matching_at_each_login_does() {
    let text = generated_bundle();
    let nodes = nodes();
    for prepared_for in &nodes {
        let kept = bundle(&text);
        kept.prepare_for_node(prepared_for);
        for n in &nodes {
            // The reference matches every selector at the login: its kept
            // outcomes belong to a node asked about by nobody.
            let reference = bundle(&text);
            reference.prepare_for_node(&node("elsewhere", &[("nothing", "here")]));
            let want = decisions(&reference, n);
            assert_eq!(
                decisions(&kept, n),
                want,
                "prepared for {}, deciding on {}",
                prepared_for.name,
                n.name
            );
            // Filled as roles are asked about, without preparing.
            assert_eq!(
                decisions(&bundle(&text), n),
                want,
                "on {}, unprepared",
                n.name
            );
        }
    }
}

#[test]
fn the_decisions_compared_differ_between_nodes() {
    // Guards the test above: were the nodes alike, a cache that ignored the
    // node would pass it.
    let b = bundle(&generated_bundle());
    let nodes = nodes();
    let all: Vec<Vec<Decision>> = nodes.iter().map(|n| decisions(&b, n)).collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            let differ = a.iter().zip(b).any(|(x, y)| x.access != y.access);
            assert!(differ, "two nodes decided every login alike");
        }
    }
}

#[test]
fn a_copy_of_a_prepared_bundle_decides_as_a_fresh_one() {
    let text = generated_bundle();
    let nodes = nodes();
    let prepared = bundle(&text);
    prepared.prepare_for_node(&nodes[0]);
    let copy = prepared.clone();
    // The copy keeps nothing of nodes[0]: another node can claim it.
    let role = &copy.roles()["a1"];
    assert!(
        copy.role_labels_on(role, &nodes[1].labels).is_some(),
        "the copy's outcomes still belong to {}",
        nodes[0].name
    );
    for n in &nodes[..2] {
        assert_eq!(
            decisions(&copy, n),
            decisions(&bundle(&text), n),
            "on {}",
            n.name
        );
    }
}

#[test]
fn a_prepared_bundle_keeps_the_literal_sides_for_its_node_only() {
    let b = bundle(&generated_bundle());
    let nodes = nodes();
    b.prepare_for_node(&nodes[0]);
    let role = |name: &str| &b.roles()[name];
    let kept = b
        .role_labels_on(role("a1"), &nodes[0].labels)
        .expect("kept for the prepared node");
    assert!(
        kept.allow.as_ref().is_some_and(|m| m.is_match()),
        "{kept:?}"
    );
    assert!(kept.deny.is_some(), "an empty deny selector is literal too");
    let templated = b
        .role_labels_on(role("a7"), &nodes[0].labels)
        .expect("kept for the prepared node");
    assert!(templated.allow.is_none(), "a template is matched per user");
    assert!(
        b.role_labels_on(role("a1"), &nodes[1].labels).is_none(),
        "nothing is kept for another node"
    );
}

#[test]
fn a_value_template_gives_users_their_own_outcome() {
    let b = bundle(&generated_bundle());
    let prod2 = &nodes()[3];
    b.prepare_for_node(prod2);
    // a7 allows team '{{external.team}}': on prod2 (team-0) only the
    // holders whose team trait is team-0 are let in by it.
    let by_a7 = |u: usize| {
        Ask::new(prod2, &format!("u{u}"))
            .decide(&b)
            .roles
            .contains(&"a7".to_owned())
    };
    let holders: Vec<usize> = (0..SELECTORS.len() * 2)
        .filter(|u| (*u..*u + 3).any(|k| k % 2 == 0 && k % SELECTORS.len() == 7))
        .collect();
    assert!(holders.iter().any(|&u| by_a7(u)), "{holders:?}");
    assert!(holders.iter().any(|&u| !by_a7(u)), "{holders:?}");
    for u in holders {
        assert_eq!(by_a7(u), u % 3 == 0, "user{u} (team-{})", u % 3);
    }
}

/// A role whose kept allow node_labels do not match the node can allow no
/// login there, and its logins are left unexpanded; one whose empty
/// node_labels leave the decision to its node_labels_expression must still
/// be judged by its logins. Both decide as matching at the login does.
#[test]
fn kept_outcomes_leave_the_expression_alone_roles_their_logins() {
    let text = [
        role(
            "by-expression",
            "v7",
            "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels_expression: 'labels.env == \"prod\"'",
        ),
        role(
            "both",
            "v7",
            "  allow:\n    logins: [root]\n    node_labels: {env: dev}\n    node_labels_expression: 'labels.env == \"prod\"'",
        ),
        user("alice", &["by-expression", "both"], &["alice"]),
    ]
    .concat();
    let prod1 = &nodes()[0];
    let kept = bundle(&text);
    kept.prepare_for_node(prod1);
    let by_expression = kept
        .role_labels_on(&kept.roles()["by-expression"], &prod1.labels)
        .and_then(|k| k.allow.clone());
    assert!(
        by_expression.is_some_and(|m| !m.is_match()),
        "the empty selector is kept, as no match"
    );
    let alice = Ask::new(prod1, "alice").decide(&kept);
    assert_eq!(alice.roles, ["by-expression"], "{:?}", alice.reasons);
    let root = Ask::new(prod1, "root").decide(&kept);
    assert!(root.roles.is_empty(), "{:?}", root.reasons);
    let reference = bundle(&text);
    reference.prepare_for_node(&node("elsewhere", &[("nothing", "here")]));
    for login in ["alice", "root"] {
        assert_eq!(
            Ask::new(prod1, login).decide(&kept),
            Ask::new(prod1, login).decide(&reference),
            "{login}"
        );
    }
}
