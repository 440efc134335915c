//! Trait templates in role values, as Teleport applies them.

use std::collections::BTreeMap;

use crate::policy::traits::{interpolate, is_valid_unix_user, TemplateError};
use crate::policy::Traits;

fn traits() -> BTreeMap<String, Vec<String>> {
    [
        ("logins", vec!["jerry", "deploy"]),
        ("kubernetes_groups", vec!["kg"]),
        ("db_users", vec!["dbu"]),
        ("username", vec!["jerry"]),
        (
            "email",
            vec!["jerry@example.com", "Jerry Smith <jsmith@corp.example>"],
        ),
        ("empty", vec![]),
        ("blank", vec![""]),
        ("http://schemas/name", vec!["jsm"]),
        ("groups", vec!["dev-team", "ops", "dev-lead"]),
        ("bad_email", vec!["not-an-address"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect()
}

#[test]
fn expansions() {
    let cases: &[(&str, &[&str])] = &[
        ("root", &["root"]),
        ("", &[""]),
        ("{{internal.logins}}", &["jerry", "deploy"]),
        ("{{external.logins}}", &["jerry", "deploy"]),
        ("{{ external.username }}", &["jerry"]),
        // typical.WithInvalidNamespaceHack: any namespace reads external.
        ("{{foo.logins}}", &["jerry", "deploy"]),
        ("{{internal.kubernetes_groups}}", &["kg"]),
        ("{{internal.db_users}}", &["dbu"]),
        // lib/utils/parse/parse_test.go TestInterpolate "constant argument"
        ("{{email.local(\"vitor@example.com\")}}", &["vitor"]),
        (
            "{{regexp.replace(\"abc-def\", \"-\", \"_\")}}",
            &["abc_def"],
        ),
        ("{{external[\"http://schemas/name\"]}}", &["jsm"]),
        ("{{internal[\"logins\"]}}", &["jerry", "deploy"]),
        ("adm-{{external.username}}", &["adm-jerry"]),
        ("{{external.username}}-ops", &["jerry-ops"]),
        ("x-{{internal.logins}}-y", &["x-jerry-y", "x-deploy-y"]),
        ("  pre-{{external.username}}  ", &["pre-jerry"]),
        ("{{email.local(external.email)}}", &["jerry", "jsmith"]),
        ("{{email.local(external[\"email\"])}}", &["jerry", "jsmith"]),
        (
            "{{regexp.replace(external.groups, \"^dev-(.*)$\", \"d_$1\")}}",
            &["d_team", "d_lead"],
        ),
        (
            "{{regexp.replace(internal.logins, \"e\", \"E\")}}",
            &["jErry", "dEploy"],
        ),
        (
            "{{regexp.replace(internal.logins, `^(.*)$`, `u-$1`)}}",
            &["u-jerry", "u-deploy"],
        ),
        (
            "{{regexp.replace(email.local(external.email), \"^j(.*)$\", \"$1\")}}",
            &["erry", "smith"],
        ),
    ];
    let t = Traits::from(&traits());
    for (value, want) in cases {
        let got = interpolate(value, &t).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(got, *want, "{value}");
    }
}

/// lib/utils/utils_test.go `TestIsValidUnixUser` cases.
#[test]
fn valid_unix_users() {
    let valid = [
        "root",
        "jerry",
        "a",
        "deploy_1",
        "web-ops",
        "Joe.Smith",
        "ab$",
        "x".repeat(32).leak(),
    ];
    let invalid = [
        "",
        "-rf",
        "a:b",
        "a/b",
        "a b",
        "a\tb",
        "a\nb",
        "a\u{7}b",
        "x".repeat(33).leak(),
    ];
    for v in valid {
        assert!(is_valid_unix_user(v), "{v:?}");
    }
    for v in invalid {
        assert!(!is_valid_unix_user(v), "{v:?}");
    }
}

#[test]
fn dropped_values() {
    let t = Traits::from(&traits());
    let no_value = [
        "{{external.missing}}",
        "{{foo.missing}}",
        "{{external.empty}}",
        "{{external.blank}}",
        "pre-{{external.missing}}",
        "{{regexp.replace(external.groups, \"^nomatch$\", \"x\")}}",
        "{{email.local(external.missing)}}",
    ];
    for value in no_value {
        assert!(
            matches!(interpolate(value, &t), Err(TemplateError::NoValue(_))),
            "{value}: {:?}",
            interpolate(value, &t)
        );
    }
    let invalid = [
        "{{internal.logins",
        "internal.logins}}",
        "{{internal.logins}}{{internal.username}}",
        "{{}}",
        "{{logins}}",
        // lib/services/role.go ApplyValueTraits: an internal trait
        // Teleport does not support is an unsupported variable, even
        // when the user has a trait of that name.
        "{{internal.username}}",
        "{{internal.missing}}",
        "{{internal[\"email\"]}}",
        "{{internal}}",
        "{{internal.}}",
        "{{internal.logins.x}}",
        "{{external['logins']}}",
        "{{email.local(external.bad_email)}}",
        "{{regexp.replace(external.groups, \"(\", \"x\")}}",
        "{{regexp.replace(external.groups, \"a\")}}",
        "{{regexp.replace(external.groups, \"a\\.b\", \"x\")}}",
        "{{strings.upper(external.groups)}}",
        "{{internal.logins + 1}}",
        "{{regexp.replace(external.groups, \"[0-9]{3}\", \"x\")}}",
    ];
    for value in invalid {
        assert!(
            matches!(interpolate(value, &t), Err(TemplateError::Invalid(_))),
            "{value}: {:?}",
            interpolate(value, &t)
        );
    }
}

/// `regexp.replace` expands its replacement as Go's `Regexp.Expand`
/// (Teleport's lib/utils/parse `RegexpReplace`): `$01` is the group named
/// `01`, `$1é` the group named `1é`; neither exists, so the template
/// expands to nothing and the role gives no login (the `regex` crate read
/// both as group 1: `bob`, `bobé`).
#[test]
fn replacements_expand_as_in_go() {
    let user: BTreeMap<String, Vec<String>> = [("x".to_owned(), vec!["adm-bob".to_owned()])].into();
    let t = Traits::from(&user);
    let template =
        |repl: &str| format!(r#"{{{{regexp.replace(external.x, "^adm-(.*)$", "{repl}")}}}}"#);
    for repl in ["$01", "$1é", "$1x", "$2"] {
        let value = template(repl);
        assert!(
            matches!(interpolate(&value, &t), Err(TemplateError::NoValue(_))),
            "{value}: {:?}",
            interpolate(&value, &t)
        );
    }
    let expanded: &[(&str, &str)] = &[
        ("$1", "bob"),
        ("$1-x", "bob-x"),
        ("$$1", "$1"),
        ("u$", "u$"),
    ];
    for (repl, want) in expanded {
        let value = template(repl);
        assert_eq!(
            interpolate(&value, &t),
            Ok(vec![want.to_string()]),
            "{value}"
        );
    }
    // `${1}` cannot be written in a template: lib/utils/parse `reVariable`
    // allows no other brace in the value (label expressions can).
    let braced = template("${1}x");
    assert!(
        matches!(interpolate(&braced, &t), Err(TemplateError::Invalid(_))),
        "{braced}"
    );
}
