//! Conformance with Teleport for trait templates, label globs and locks:
//! `ApplyTraits`/`ApplyValueTraits` (lib/services/role.go, role_test.go
//! `TestApplyTraits`), `utils.GlobToRegexp`, `LockV2.IsInForce` and
//! `LockTarget.Match` (api/types/lock.go), `ComputeLockTargets`
//! (lib/srv/ctx.go), `RoleSet.LockingMode`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::support::{bundle, cap, node, now, role, summary, user, Ask};
use crate::policy::traits::interpolate;
use crate::policy::{match_value, Traits};

fn prod3() -> crate::policy::NodeInfo {
    node("prod3", &[("env", "prod"), ("team", "db")])
}

fn dev1() -> crate::policy::NodeInfo {
    node("dev1", &[("env", "dev")])
}

/// lib/utils `GlobToRegexp`: a glob's `*` becomes the regex `(.*)`, whose
/// `.` does not match a newline; `^...$` values are regexes as written.
#[test]
fn glob_star_does_not_cross_a_newline() {
    let cases: &[(&str, &str, bool)] = &[
        ("prod*", "prod\nx", false),
        ("*x", "a\nx", false),
        ("a*", "a\n", false),
        ("prod*", "prod-x", true),
        ("a\nb", "a\nb", true), // no star: a literal comparison
        ("a*\nb", "ax\nb", true),
        ("a*\nb", "a\nx\nb", false),
        ("^a.*$", "a\nb", false),
        ("^a(?s:.*)$", "a\nb", true),
        ("a.c*", "a.c\n", false),
        ("a.c*", "abcd", false),
    ];
    for (pattern, value, want) in cases {
        assert_eq!(
            match_value(pattern, value),
            Ok(*want),
            "{pattern:?} vs {value:?}"
        );
    }
    // Through decide: a node whose label value holds a newline.
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: 'prod*'}",
    ) + &user("jerry", &["r"], &["jerry"]);
    let b = bundle(&text);
    let odd = node("odd", &[("env", "prod\nstaging")]);
    assert_eq!(summary(&Ask::new(&odd, "jerry").decide(&b)), "deny off []");
    let fine = node("fine", &[("env", "prod-eu")]);
    assert_eq!(
        summary(&Ask::new(&fine, "jerry").decide(&b)),
        "allow off [r]"
    );
}

/// lib/services/role.go `ApplyValueTraits`: `internal.github_orgs`
/// (constants.TraitGitHubOrgs) is one of the internal traits it expands.
#[test]
fn internal_github_orgs_is_a_supported_trait() {
    let traits: BTreeMap<String, Vec<String>> =
        [("github_orgs".to_owned(), vec!["acme".to_owned()])].into();
    assert_eq!(
        interpolate("{{internal.github_orgs}}", &Traits::from(&traits)),
        Ok(vec!["acme".to_owned()])
    );
    assert_eq!(
        interpolate("gh-{{internal.github_orgs}}", &Traits::from(&traits)),
        Ok(vec!["gh-acme".to_owned()])
    );
}

/// api/types/lock.go `LockV2.IsInForce`: in force while `now` is before
/// `expires`; at the instant of expiry it no longer is.
#[test]
fn a_lock_ends_at_its_expiry_instant() {
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["r"], &["jerry"])
        + "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {user: jerry}\n  expires: 2024-01-01T00:00:00Z\n";
    let b = bundle(&text);
    let n = dev1();
    let at = |d: Duration, before: bool| {
        let t = if before { now() - d } else { now() + d };
        let d = Ask::new(&n, "jerry").at(t).decide(&b);
        (summary(&d), d.locked)
    };
    assert_eq!(
        at(Duration::from_secs(1), true),
        ("deny off [r]".to_owned(), true)
    );
    assert_eq!(
        at(Duration::ZERO, false),
        ("allow off [r]".to_owned(), false)
    );
    assert_eq!(
        at(Duration::from_secs(1), false),
        ("allow off [r]".to_owned(), false)
    );
}

/// api/types/role.go `RoleV6.CheckAndSetDefaults` accepts `options.lock`
/// empty, `best_effort` or `strict` and refuses anything else;
/// lib/services/role.go `RoleSet.LockingMode`: a strict role makes strict.
#[test]
fn role_option_lock() {
    let with = |mode: &str| {
        crate::policy::load_bundle_str(
            &(cap("  locking_mode: best_effort")
                + &role("r", "v7", &format!("  options:\n    lock: {mode}"))),
            "t.yaml",
        )
    };
    assert_eq!(with("strict").unwrap().locking_mode(), "strict");
    assert_eq!(with("best_effort").unwrap().locking_mode(), "best_effort");
    assert_eq!(with("''").unwrap().locking_mode(), "best_effort");
    let err = with("Strict").unwrap_err();
    assert!(
        err.message.contains("invalid value for role option lock"),
        "{err}"
    );
    assert!(err.line.is_some(), "{err}");
    let strict_cap = bundle(
        &(cap("  locking_mode: strict") + &role("r", "v7", "  options:\n    lock: best_effort")),
    );
    assert_eq!(strict_cap.locking_mode(), "strict");
}

/// lib/srv/ctx.go `ComputeLockTargets`: the node is targeted by its host
/// UUID and by `HostFQDN(uuid, cluster)`, `<uuid>.<cluster>`; api/types
/// `LockTarget.Match` compares `node` and `server_id` with those.
#[test]
fn node_locks_by_host_uuid_and_its_fqdn() {
    let base = role(
        "r",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["r"], &["jerry"]);
    let lock = |field: &str, value: &str| {
        format!("---\nkind: lock\nversion: v2\nmetadata: {{name: l}}\nspec:\n  target: {{{field}: '{value}'}}\n")
    };
    let mut with_id = prod3();
    with_id.id = Some("8a1c-uuid".into());
    let cases: &[(&str, &str, bool, bool)] = &[
        // (field, value, locked with the id known, locked without it)
        ("server_id", "8a1c-uuid", true, false),
        ("node", "8a1c-uuid", true, false),
        ("server_id", "8a1c-uuid.example.com", true, false),
        ("node", "8a1c-uuid.example.com", true, false),
        ("server_id", "8a1c-uuid-2.example.com", false, false),
        ("server_id", "8a1c-uuid.", false, false),
        ("server_id", "x8a1c-uuid.example.com", false, false),
        ("node", "prod3", true, true),
        ("node", "prod3.example.com", false, false),
    ];
    for (field, value, with, without) in cases {
        let b = bundle(&(base.clone() + &lock(field, value)));
        let d = Ask::new(&with_id, "jerry").decide(&b);
        assert_eq!(d.locked, *with, "{field}={value} with id: {:?}", d.reasons);
        let d = Ask::new(&prod3(), "jerry").decide(&b);
        assert_eq!(
            d.locked, *without,
            "{field}={value} without id: {:?}",
            d.reasons
        );
    }
}

/// (traits, role values, values after ApplyTraits).
type TraitsCase = (
    &'static [(&'static str, &'static [&'static str])],
    &'static [&'static str],
    &'static [&'static str],
);

/// lib/services/role_test.go `TestApplyTraits`, the cases that bear on
/// logins and node labels, through the role's trait application.
#[test]
fn apply_traits_cases_from_teleport() {
    use crate::policy::applied_role::apply_traits;
    let t = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    };
    let logins_cases: &[TraitsCase] = &[
        (
            &[("foo", &["bar"])],
            &["{{external.foo}}", "root"],
            &["bar", "root"],
        ),
        (
            &[("foo", &["Bar <bar@example.com>"])],
            &["{{email.local(external.foo)}}", "root"],
            &["bar", "root"],
        ),
        (
            &[("foo", &["bar-baz"])],
            &[
                r#"{{regexp.replace(external.foo, "^bar-(.*)$", "$1")}}"#,
                "root",
            ],
            &["baz", "root"],
        ),
        (
            &[("email", &["ab_cd@example.com"])],
            &[
                r#"{{regexp.replace(external.email, "_", "")}}"#,
                "{{email.local(external.email)}}",
                r#"{{regexp.replace(email.local(external.email), "_", "")}}"#,
                r#"{{regexp.replace(external.email, "d", "e")}}"#,
                r#"{{email.local(regexp.replace(external.email, "d", "e"))}}"#,
                r#"{{regexp.replace(regexp.replace(email.local(regexp.replace(external.email, "cd", "z")), "ab", "xy"), "_", "")}}"#,
                "root",
            ],
            &[
                "abcd@example.com",
                "ab_cd",
                "abcd",
                "ab_ce@example.com",
                "ab_ce",
                "xyz",
                "root",
            ],
        ),
        (
            &[],
            &[
                r#"{{regexp.replace("vitor@gravitational.com", "gravitational", "goteleport")}}"#,
                r#"{{email.local("vitor@goteleport.com")}}"#,
                r#"{{email.local(regexp.replace("vitor.enes@gravitational.com", "gravitational", "goteleport"))}}"#,
                "root",
            ],
            &["vitor@goteleport.com", "vitor", "vitor.enes", "root"],
        ),
        (&[("foo", &["bar"])], &["external.foo}}"], &[]),
        (
            &[("foo", &["bar"])],
            &["{{email.local(external.foo, 1)}}"],
            &[],
        ),
        (&[("foo", &["bar"])], &["{{email.local()}}"], &[]),
        (
            &[("foo", &["bar"])],
            &[
                "{{email.local(email.local)}}",
                "{{email.local(email.local())}}",
            ],
            &[],
        ),
        (
            &[("foo", &["bar"])],
            &[r#"{{regexp.replace(external.foo, "(()", "baz")}}"#],
            &[],
        ),
        (
            &[("foo", &["dev-alice", "dev-bob", "prod-charlie"])],
            &[r#"{{regexp.replace(external.foo, "^dev-([a-zA-Z]+)$", "$1-admin")}}"#],
            &["alice-admin", "bob-admin"],
        ),
        (
            &[("foo", &["bar"])],
            &["{{internal.bar}}", "root"],
            &["root"],
        ),
        // lib/utils/parse `RegexpReplace` (`stringListMap`): values it does
        // not match, or replaces with nothing, are dropped before
        // email.local sees them.
        (
            &[("email", &["a@x.com", "b@y.com"])],
            &[
                r#"{{email.local(regexp.replace(external.email, "@x[.]com$", "@x.com"))}}"#,
                "root",
            ],
            &["a", "root"],
        ),
        (
            &[("email", &["a@x.com", "b@x.com"])],
            &[
                r#"{{email.local(regexp.replace(external.email, "^a@x[.]com$|^(b)(@x[.]com)$", "$1$2"))}}"#,
            ],
            &["b"],
        ),
        (&[("foo", &["bar"])], &["{{external.foo}}", "bar"], &["bar"]),
        // Trait names are Go identifiers: Unicode letters and digits.
        (&[("équipe", &["ops"])], &["{{external.équipe}}"], &["ops"]),
        (&[("t٣", &["ops"])], &["{{external.t٣}}"], &["ops"]),
        (
            &[("foo", &["-foo"])],
            &["{{external.foo}}", "bar"],
            &["bar"],
        ),
    ];
    for (traits, logins, want) in logins_cases {
        let traits = t(traits);
        let body = format!(
            "  allow:\n    logins: [{}]\n  deny:\n    logins: [{}]",
            logins
                .iter()
                .map(|l| format!("'{}'", l.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", "),
            logins
                .iter()
                .map(|l| format!("'{}'", l.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let b = bundle(&role("r", "v7", &body));
        let mut notes = Vec::new();
        let traits = Traits::from(&traits);
        let node = BTreeMap::new();
        let a = apply_traits(&b.roles()["r"], &traits, &node, None, &mut notes);
        assert_eq!(a.allow_logins, *want, "{logins:?}: {notes:?}");
        assert_eq!(a.deny_logins, *want, "deny {logins:?}: {notes:?}");
    }
    // Labels: keys take the first value, values expand to all; a missing
    // trait becomes the empty string, in keys and values.
    let text = role(
        "r",
        "v7",
        "  allow:\n    node_labels:\n      '{{external.foo}}': value\n      '{{external.missing}}': missing\n      missing: ['{{external.missing}}', othervalue]\n      key: '{{external.foo}}'\n  deny:\n    node_labels:\n      '{{external.hello}}': '{{external.foo}}'",
    );
    let b = bundle(&text);
    let traits = t(&[("foo", &["bar", "baz"]), ("hello", &["there"])]);
    let traits = Traits::from(&traits);
    let r = &b.roles()["r"];
    let applied = |side, selector| {
        crate::policy::label_traits::apply_label_traits(
            &r.name,
            side,
            selector,
            &traits,
            &mut Vec::new(),
        )
        .selector
    };
    let labels = |pairs: &[(&str, &[&str])]| -> crate::policy::Labels { t(pairs) };
    assert_eq!(
        applied(crate::policy::labels::Side::Allow, &r.allow.node_labels),
        labels(&[
            ("bar", &["value"]),
            ("", &["missing"]),
            ("missing", &["", "othervalue"]),
            ("key", &["bar", "baz"]),
        ])
    );
    assert_eq!(
        applied(crate::policy::labels::Side::Deny, &r.deny.node_labels),
        labels(&[("there", &["bar", "baz"])])
    );
}

/// lib/srv/ctx.go `ComputeLockTargets` targets the roles of
/// `AccessChecker.RoleNames()`, which lib/services `RoleSet.RoleNames`
/// returns without the `default-implicit-role` `NewRoleSet` adds: a lock on
/// that role holds nobody, while a lock on a role the user holds does.
#[test]
fn a_lock_on_the_implicit_role_holds_nobody() {
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["r"], &["jerry"])
        + "---\nkind: lock\nversion: v2\nmetadata: {name: all}\nspec:\n  target: {role: default-implicit-role}\n";
    let b = bundle(&text);
    let d = Ask::new(&dev1(), "jerry").decide(&b);
    assert!(!d.locked && d.is_allowed(), "{:?}", d.reasons);
    let d = Ask::new(&dev1(), "jerry").user("jerry").decide(&b);
    assert!(!d.locked && d.is_allowed(), "{:?}", d.reasons);
    // A lock on a role the user holds does.
    let text = text.replace("default-implicit-role", "r");
    let d = Ask::new(&dev1(), "jerry").decide(&bundle(&text));
    assert!(d.locked, "{:?}", d.reasons);
}

/// lib/utils/parse `RegexpReplace` compiles with Go's regexp: `\w` is ASCII.
#[test]
fn regexp_replace_uses_ascii_perl_classes() {
    let traits: BTreeMap<String, Vec<String>> = [(
        "groups".to_owned(),
        vec!["dev-bob".to_owned(), "dev-b\u{e9}a".to_owned()],
    )]
    .into();
    assert_eq!(
        interpolate(
            r#"{{regexp.replace(external.groups, "^dev-(\\w+)$", "$1")}}"#,
            &Traits::from(&traits)
        ),
        Ok(vec!["bob".to_owned()])
    );
}
