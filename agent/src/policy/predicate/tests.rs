//! Table tests from Teleport's own cases: lib/services/parser_test.go
//! `TestLabelExpressions` (the label expression language), plus syntax
//! and type errors with their offsets.

use std::collections::BTreeMap;

use super::{Env, LabelExpression};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn traits(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

type Traits<'a> = &'a [(&'a str, &'a [&'a str])];

type Case<'a> = (
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [(&'a str, &'a [&'a str])],
    bool,
);

#[test]
fn teleport_label_expression_cases() {
    let projects: &[(&str, &[&str])] = &[("projects", &["parser", "skunkworks", "algorithms"])];
    let cases: &[Case<'_>] = &[
        // (name, expression, node labels, user traits, match)
        ("label equality", r#"labels["env"] == "staging""#, &[("env", "staging")], &[], true),
        ("label inequality", r#"labels["env"] != "production""#, &[("env", "production")], &[], false),
        ("dotted label", r#"labels.env == "staging""#, &[("env", "staging")], &[], true),
        // go/scanner identifiers: Unicode letters too.
        ("unicode dotted label", r#"labels.équipe == "ops""#, &[("équipe", "ops")], &[], true),
        ("missing label is empty", r#"labels["nope"] == """#, &[], &[], true),
        ("contains match", r#"contains(user.spec.traits["allow-env"], labels["env"])"#, &[("env", "staging")], &[("allow-env", &["dev", "staging"])], true),
        ("contains not match", r#"contains(user.spec.traits["allow-env"], labels["env"])"#, &[("env", "production")], &[("allow-env", &["dev", "staging"])], false),
        ("missing trait is empty", r#"contains(user.spec.traits.nope, "x")"#, &[], &[], false),
        (
            "boolean logic",
            "contains(user.spec.traits[\"allow-env\"], labels[\"env\"]) &&\n contains(user.spec.traits[\"groups\"], labels[\"group\"]) ||\n contains(user.spec.traits[\"groups\"], \"super-admin\")",
            &[("env", "staging"), ("group", "devs")],
            &[("allow-env", &["dev", "staging", "production"]), ("groups", &["devs", "security"])],
            true,
        ),
        ("regexp.match", "regexp.match(labels[\"owner\"], \"dev-*\") &&\n !regexp.match(labels[\"env\"], \"^prod.*$\")", &[("owner", "dev-123"), ("env", "staging")], &[], true),
        (
            "regexp.replace",
            "contains(\n // call with list\n regexp.replace(user.spec.traits[\"groups\"], \"^team-(.*)$\", \"$1\"),\n labels[\"team\"]) &&\ncontains(\n /* call with single string */\n regexp.replace(labels[\"env\"], \"^(.*)$\", \"env-$1\"),\n \"env-staging\")",
            &[("team", "security"), ("env", "staging")],
            &[("groups", &["team-security"])],
            true,
        ),
        (
            "email.local",
            r#"contains(email.local(user.spec.traits["email"]), labels["owner"]) && contains(email.local(user.spec.traits["full email"]), labels["owner"])"#,
            &[("owner", "test")],
            &[("email", &["test@example.com"]), ("full email", &["Test <test@example.com>"])],
            true,
        ),
        ("string helpers", "contains(strings.lower(user.spec.traits[\"logins\"]), \"name\") &&\ncontains(strings.upper(labels[\"env\"]), \"STAGING\")", &[("env", "staging")], &[("logins", &["test", "Name"])], true),
        // Go's strings.ToLower/ToUpper map character by character.
        ("go lower", r#"contains(strings.lower(user.spec.traits["team"]), "istanbul-ops")"#, &[], &[("team", &["İSTANBUL-OPS"])], true),
        ("go upper", r#"contains(strings.upper(user.spec.traits["street"]), "STRASSE")"#, &[], &[("street", &["straße"])], false),
        ("labels_matching name", r#"contains(labels_matching("^project-(name|label)$"), "skunkworks")"#, &[("project-name", "skunkworks"), ("project-label", "secret")], &[], true),
        ("labels_matching label", r#"contains(labels_matching("^project-(name|label)$"), "skunkworks")"#, &[("project-name", "secret"), ("project-label", "skunkworks")], &[], true),
        ("labels_matching glob", r#"contains(labels_matching("project-*"), "skunkworks")"#, &[("project-name", "skunkworks"), ("project-label", "secret")], &[], true),
        ("labels_matching no match", r#"contains(labels_matching("project-*"), "skunkworks")"#, &[("project", "skunkworks")], &[], false),
        ("contains_any match", r#"contains_any(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("project-name", "skunkworks"), ("project-label", "secret")], projects, true),
        ("contains_any no match", r#"contains_any(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("project-name", "skunkworks"), ("project-label", "secret")], &[("projects", &["parser", "algorithms"])], false),
        ("contains_any empty first arg", r#"contains_any(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("project-name", "skunkworks")], &[], false),
        ("contains_any empty second arg", r#"contains_any(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("team", "security")], projects, false),
        ("contains_all match", r#"contains_all(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("project-primary", "parser"), ("project-secondary", "algorithms")], projects, true),
        ("contains_all no match", r#"contains_all(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("project-primary", "parser"), ("project-secondary", "algorithms"), ("project-label", "secret")], projects, false),
        ("contains_all empty first arg", r#"contains_all(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("project-primary", "parser")], &[], false),
        ("contains_all empty second arg", r#"contains_all(user.spec.traits["projects"], labels_matching("project-*"))"#, &[("team", "security")], projects, false),
        ("set literal", r#"contains_any(set("dev", "staging"), labels["env"])"#, &[("env", "staging")], &[], true),
        ("set literal no match", r#"contains_any(set("dev", "staging"), labels["env"])"#, &[("env", "prod")], &[], false),
        ("empty set", r#"contains_all(user.spec.traits.projects, set())"#, &[], projects, false),
        ("not and parentheses", r#"!(labels.env == "prod" || labels.env == "staging")"#, &[("env", "dev")], &[], true),
        ("&& binds tighter than ||", r#"labels.a == "1" || labels.b == "1" && labels.c == "1""#, &[("a", "1")], &[], true),
        ("raw string", r#"regexp.match(labels.env, `^pr.d$`)"#, &[("env", "prod")], &[], true),
        // Go's string escapes (strconv.Unquote).
        ("go \\u escape", r#"labels["env"] == "pr\u006fd""#, &[("env", "prod")], &[], true),
        ("go \\x escape", r#"labels["env"] == "a\x40b""#, &[("env", "a@b")], &[], true),
        ("go octal escape", r#"labels["env"] == "\160rod""#, &[("env", "prod")], &[], true),
        ("go \\U escape", r#"labels["env"] == "\U0001F600""#, &[("env", "\u{1F600}")], &[], true),
        ("go \\a \\v escapes", r#"labels["env"] == "\a\v""#, &[("env", "\u{7}\u{b}")], &[], true),
        // Go's regexp syntax: \Q...\E, octal, escaped punctuation.
        ("go quoting", r#"regexp.match(labels.env, `^\Qprod.eu\E$`)"#, &[("env", "prod.eu")], &[], true),
        ("go quoting is literal", r#"regexp.match(labels.env, `^\Qprod.eu\E$`)"#, &[("env", "prodXeu")], &[], false),
        ("go octal", r#"regexp.match(labels.env, `^\141pp$`)"#, &[("env", "app")], &[], true),
        ("go escaped <", r#"regexp.match(labels.team, `^a\<b$`)"#, &[("team", "a<b")], &[], true),
        // lib/utils/parse `RegexpReplace`: Go's `$` expansion (`$01` and
        // `$1é` name groups no regex has: nothing).
        ("replace $1", r#"contains(regexp.replace(user.spec.traits.x, "^adm-(.*)$", "$1"), "bob")"#, &[], &[("x", &["adm-bob"])], true),
        ("replace $01", r#"contains(regexp.replace(user.spec.traits.x, "^adm-(.*)$", "$01"), "bob")"#, &[], &[("x", &["adm-bob"])], false),
        ("replace $1é", r#"contains(regexp.replace(user.spec.traits.x, "^adm-(.*)$", "$1é"), "bobé")"#, &[], &[("x", &["adm-bob"])], false),
        ("replace ${1}é", r#"contains(regexp.replace(user.spec.traits.x, "^adm-(.*)$", "${1}é"), "bobé")"#, &[], &[("x", &["adm-bob"])], true),
        ("integers compare", "1 == 1 && 2 != 3", &[], &[], true),
        ("index by expression", r#"labels[labels.which] == "yes""#, &[("which", "x"), ("x", "yes")], &[], true),
    ];
    for (name, expr, labels, user_traits, want) in cases {
        let parsed = LabelExpression::parse(expr).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (labels, user_traits) = (map(labels), traits(user_traits));
        let env = Env {
            labels: &labels,
            traits: &crate::policy::Traits::from(&user_traits),
        };
        assert_eq!(parsed.matches(&env), Ok(*want), "{name}: {expr}");
    }
}

/// Errors while evaluating (the caller fails closed).
#[test]
fn evaluation_errors() {
    let cases: &[(&str, Traits<'_>, &str)] = &[
        // TestLabelExpressions "email.local error"
        (
            r#"contains(email.local(user.spec.traits["email"]), labels["owner"])"#,
            &[("email", &["test"])],
            "email",
        ),
        (
            r#"regexp.match(labels.env, "^(unclosed$")"#,
            &[],
            "invalid regex",
        ),
        (
            r#"contains(regexp.replace(user.spec.traits.g, "(", "x"), "a")"#,
            &[("g", &["a"])],
            "invalid regex",
        ),
        // Teleport's RegexMatchesAny compiles before it looks at the list:
        // an invalid regex is an error for an empty list too.
        (
            r#"regexp.match(user.spec.traits["groups"], "^(contractor$")"#,
            &[],
            "invalid regex",
        ),
        // Go's syntax: a backreference is an error in Go.
        (
            r#"regexp.match(labels.env, "^(a)\\1$")"#,
            &[],
            "invalid regex",
        ),
    ];
    let labels = map(&[("env", "prod"), ("owner", "test")]);
    for (expr, user_traits, fragment) in cases {
        let user_traits = traits(user_traits);
        let parsed = LabelExpression::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = parsed.matches(&Env {
            labels: &labels,
            traits: &crate::policy::Traits::from(&user_traits),
        });
        assert!(
            matches!(&got, Err(e) if e.contains(fragment)),
            "{expr}: {got:?}"
        );
    }
}

/// Syntax and type errors at parse time, with their byte offset
/// (TestLabelExpressions "wrong type", "contains wrong type").
#[test]
fn parse_errors_and_offsets() {
    let cases: &[(&str, usize, &str)] = &[
        (
            r#"user.spec.traits["allow-env"] == "staging""#,
            30,
            "compares two strings",
        ),
        (r#"contains(labels, "env")"#, 9, "is a map"),
        (r#"labels["env"] == "#, 17, "unexpected End"),
        (r#"labels["env"] = "x""#, 14, "unexpected character"),
        (r#"nope.thing == "x""#, 0, "unknown identifier"),
        (r#"user.metadata.name == "x""#, 0, "unknown identifier"),
        (
            r#"union(set("a"), set("b"))"#,
            0,
            "unsupported function: union",
        ),
        (
            r#"ifelse(true, "a", "b") == "a""#,
            0,
            "unsupported function: ifelse",
        ),
        (r#"contains(set("a"))"#, 0, "takes 2 arguments, given 1"),
        (r#"labels["env"]"#, 0, "not a boolean"),
        (r#"strings.upper(labels.env)"#, 0, "not a boolean"),
        (r#"!labels.env"#, 0, "operator (!) takes a boolean"),
        (
            r#"labels.a == "1" && "x""#,
            19,
            "operator (&&) takes booleans",
        ),
        (
            r#"contains(user.spec.traits.x, set("a"))"#,
            29,
            "argument 2 to function (contains) must be a string",
        ),
        (r#"labels[set("a")] == "x""#, 6, "map key must be a string"),
        ("labels[\"env\" == \"x\"", 6, "not a"),
        ("\"unterminated", 0, "not terminated"),
        (r#"labels.env == "a\'b""#, 16, "unknown escape sequence \\'"),
        (
            r#"labels.env == "\uD800""#,
            15,
            "invalid Unicode code point",
        ),
        (r#"labels.env == "\400""#, 15, "over 255"),
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("(labels.a == \"x\"", 16, "expected RParen"),
    ];
    for (expr, offset, fragment) in cases {
        match LabelExpression::parse(expr) {
            Ok(_) => panic!("{expr:?} parsed"),
            Err(e) => {
                assert!(e.message.contains(fragment), "{expr:?}: {e}");
                assert_eq!(e.offset, *offset, "{expr:?}: {e}");
            }
        }
    }
}

/// Bounds on hostile input: deep nesting and very long expressions are
/// refused, never a stack overflow.
#[test]
fn nesting_and_length_are_bounded() {
    let deep = format!("{}labels.a == \"x\"{}", "(".repeat(100), ")".repeat(100));
    let e = LabelExpression::parse(&deep).expect_err("too deep");
    assert!(e.message.contains("nested too deeply"), "{e}");
    let nots = format!("{}(labels.a == \"x\")", "!".repeat(100));
    let e = LabelExpression::parse(&nots).expect_err("too deep");
    assert!(e.message.contains("nested too deeply"), "{e}");
    let ok = format!("{}labels.a == \"x\"{}", "(".repeat(30), ")".repeat(30));
    assert!(LabelExpression::parse(&ok).is_ok());
    let long = vec!["labels.a == \"x\""; 600].join(" || ");
    let e = LabelExpression::parse(&long).expect_err("too long");
    assert!(e.message.contains("too long"), "{e}");
    let chain = vec!["labels.a == \"x\""; 300].join(" && ");
    let parsed = LabelExpression::parse(&chain).expect("a long chain within bounds");
    let labels = map(&[("a", "x")]);
    let none = BTreeMap::new();
    assert_eq!(
        parsed.matches(&Env {
            labels: &labels,
            traits: &crate::policy::Traits::from(&none)
        }),
        Ok(true)
    );
}

/// Arbitrary text made of the language's pieces (fixed seed) parses or is
/// refused with an offset inside the text; evaluating what parses never
/// panics.
#[test]
fn arbitrary_input_never_panics() {
    const PIECES: &[&str] = &[
        "labels",
        "user",
        ".spec",
        ".traits",
        "[",
        "]",
        "(",
        ")",
        "\"a\"",
        "`b`",
        ",",
        "&&",
        "||",
        "!",
        "==",
        "!=",
        "contains",
        "set",
        "regexp.match",
        "email.local",
        "1",
        " ",
        "\"",
        "\\",
        "é",
        "/*",
        "*/",
        "//",
        "\n",
        "labels_matching",
        ".x",
        "strings.upper",
    ];
    let mut state: u64 = 0x5eed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let labels = map(&[("a", "x"), ("x", "a@b.c")]);
    let user_traits = traits(&[("x", &["a@b.c", ""])]);
    for _ in 0..5000 {
        let len = (next() % 12) as usize;
        let text: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        match LabelExpression::parse(&text) {
            Ok(expr) => {
                let _ = expr.matches(&Env {
                    labels: &labels,
                    traits: &crate::policy::Traits::from(&user_traits),
                });
            }
            Err(e) => assert!(e.offset <= text.len(), "{text:?}: {e}"),
        }
    }
}
