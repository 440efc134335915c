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
