//! Go syntax in trait templates, as Teleport reads it: string arguments
//! are Go literals (go/scanner, strconv.Unquote) and `email.local` parses
//! with Go's net/mail (lib/utils/parse/ast.go `EmailLocalExpr`).

use std::collections::BTreeMap;

use crate::policy::traits::{interpolate, TemplateError};
use crate::policy::Traits;

/// Template string arguments are Go string literals (strconv.Unquote):
/// `\x40` is `@`, `\u006f` is `o`, octal `\100` is `@`; `\'` and unknown
/// escapes are errors (the value is dropped).
#[test]
fn template_strings_take_go_escapes() {
    let traits: BTreeMap<String, Vec<String>> =
        [("email".to_owned(), vec!["alice@example.com".to_owned()])].into();
    let traits = Traits::from(&traits);
    for template in [
        r#"{{regexp.replace(external.email, "^(.*)\x40example\\.com$", "$1")}}"#,
        r#"{{regexp.replace(external.email, "^(.*)\100example\\.com$", "$1")}}"#,
        r#"{{regexp.replace(external.email, "^(.*)@ex\u0061mple\\.com$", "$1")}}"#,
        r#"{{regexp.replace(external.email, "^(.*)@ex\U00000061mple\\.com$", "$1")}}"#,
    ] {
        assert_eq!(
            interpolate(template, &traits),
            Ok(vec!["alice".to_owned()]),
            "{template}"
        );
    }
    for template in [
        r#"{{regexp.replace(external.email, "^(.*)\'$", "$1")}}"#,
        r#"{{regexp.replace(external.email, "^(.*)\q$", "$1")}}"#,
        r#"{{regexp.replace(external.email, "^(.*)\x4$", "$1")}}"#,
    ] {
        assert!(
            matches!(
                interpolate(template, &traits),
                Err(TemplateError::Invalid(_))
            ),
            "{template}"
        );
    }
}

/// `email.local` parses the value as Go's mail.ParseAddress does
/// (Teleport's lib/utils/parse/ast.go `EmailLocalExpr`): what Go refuses
/// drops the template (no login), what Go accepts gives the local part.
#[test]
fn email_local_parses_addresses_as_go() {
    let expand = |email: &str| {
        let traits: BTreeMap<String, Vec<String>> =
            [("email".to_owned(), vec![email.to_owned()])].into();
        interpolate("{{email.local(external.email)}}", &Traits::from(&traits))
    };
    for refused in [
        "alice@@example.com",
        "alice@example.com.",
        "alice.@example.com",
        "alice smith@example.com",
        "Alice <alice@example.com",
        "alice@example.com, bob@example.com",
    ] {
        assert!(
            matches!(expand(refused), Err(TemplateError::Invalid(_))),
            "{refused}: {:?}",
            expand(refused)
        );
    }
    for (accepted, local) in [
        ("alice@example.com (Alice)", "alice"),
        ("Alice <alice@example.com>", "alice"),
        ("\"Alice B.\" <alice@example.com>", "alice"),
        ("\"alice smith\"@example.com", "alice smith"),
    ] {
        assert_eq!(expand(accepted), Ok(vec![local.to_owned()]), "{accepted}");
    }
}

fn go_traits() -> BTreeMap<String, Vec<String>> {
    [
        ("logins", vec!["jerry", "deploy"]),
        ("email", vec!["alice@example.com"]),
        ("default", vec!["dflt"]),
        ("type", vec!["t"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect()
}

/// Go syntax Teleport accepts in a template (lib/utils/parse/parse.go on
/// typical and vulcand/predicate, which walk `*ast.ParenExpr` at any
/// operand): parentheses, trailing commas in calls and indices, line
/// breaks after `(` or `,`, comments, a line break at the end.
#[test]
fn templates_take_go_syntax_teleport_accepts() {
    let t = Traits::from(&go_traits());
    let cases: &[(&str, &[&str])] = &[
        ("{{(internal.logins)}}", &["jerry", "deploy"]),
        ("{{ ((external.logins)) }}", &["jerry", "deploy"]),
        ("u-{{(external.email)}}", &["u-alice@example.com"]),
        ("{{email.local((external.email))}}", &["alice"]),
        ("{{(email.local(external.email))}}", &["alice"]),
        ("{{(internal)[\"logins\"]}}", &["jerry", "deploy"]),
        ("{{internal[(\"logins\")]}}", &["jerry", "deploy"]),
        ("{{internal[\"logins\",]}}", &["jerry", "deploy"]),
        ("{{email.local(external.email,)}}", &["alice"]),
        ("{{email.local(external.email...)}}", &["alice"]),
        (
            "{{regexp.replace(external.email, (\"^(.*)@example\\\\.com$\"), \"$1\")}}",
            &["alice"],
        ),
        (
            "{{regexp.replace(\n  external.email,\n  \"^(.*)@example\\\\.com$\",\n  \"$1\",\n)}}",
            &["alice"],
        ),
        ("{{email.local(\n external.email)}}", &["alice"]),
        (
            "{{internal.logins /* the unix logins */}}",
            &["jerry", "deploy"],
        ),
        (
            "{{internal.logins // the unix logins}}",
            &["jerry", "deploy"],
        ),
        ("{{\tinternal.logins\n}}", &["jerry", "deploy"]),
        // A keyword as a string index is a string.
        ("{{external[\"default\"]}}", &["dflt"]),
        ("{{external[\"type\"]}}", &["t"]),
    ];
    for (value, want) in cases {
        let got = interpolate(value, &t).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(got, *want, "{value:?}");
    }
}

/// Go syntax errors drop the value in Teleport (ApplyValueTraits fails):
/// a Go keyword as a name (`external.default`, `default.logins`), a line
/// break after a complete operand (go/scanner's automatic semicolon), a
/// form feed (not a Go blank), and the forms vulcand/predicate does not
/// walk (a parenthesised function or selector base).
#[test]
fn templates_refuse_what_go_refuses() {
    let t = Traits::from(&go_traits());
    for value in [
        "{{external.default}}",
        "{{external.type}}",
        "{{default.logins}}",
        "{{email.local(external.range)}}",
        "{{regexp.replace(external.func, \"a\", \"b\")}}",
        "{{email.local(\nexternal.email\n)}}",
        "{{external\n.logins}}",
        "{{internal.logins\n\n[\"x\"]}}",
        "{{\u{c}internal.logins}}",
        "{{(email).local(external.email)}}",
        "{{(email.local)(external.email)}}",
        "{{(internal).logins}}",
        "{{email.local(,)}}",
        "{{email.local(external.email,,)}}",
        "{{regexp.replace(external.email..., \"a\", \"b\")}}",
        "{{(internal.logins}}",
    ] {
        assert!(
            matches!(interpolate(value, &t), Err(TemplateError::Invalid(_))),
            "{value:?}: {:?}",
            interpolate(value, &t)
        );
    }
}
