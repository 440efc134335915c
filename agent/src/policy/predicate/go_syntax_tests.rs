//! Go's syntax where it differs from a plain expression grammar, as
//! Teleport reads `node_labels_expression` through `go/parser.ParseExpr`:
//! automatic semicolons at line breaks, keywords that are not names,
//! trailing commas. Each case here was read the other way before.

use std::collections::BTreeMap;

use super::{Env, LabelExpression};

fn check(expr: &str) -> Result<bool, String> {
    let parsed = LabelExpression::parse(expr).map_err(|e| e.to_string())?;
    let labels: BTreeMap<String, String> = [("env", "prod"), ("type", "db"), ("team", "ops")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let traits: BTreeMap<String, Vec<String>> =
        [("team".to_owned(), vec!["ops".to_owned()])].into();
    parsed.matches(&Env {
        labels: &labels,
        traits: &crate::policy::Traits::from(&traits),
    })
}

fn assert_refused(cases: &[(&str, usize, &str)]) {
    for (expr, offset, fragment) in cases {
        match LabelExpression::parse(expr) {
            Ok(_) => panic!("{expr:?} parsed; Go refuses it"),
            Err(e) => {
                assert!(e.message.contains(fragment), "{expr:?}: {e}");
                assert_eq!(e.offset, *offset, "{expr:?}: {e}");
            }
        }
    }
}

/// go/scanner inserts a semicolon at a line break after a name, a literal,
/// `)` or `]`; ParseExpr accepts one only at the very end. A YAML block
/// whose `)` or `]` or operator starts a line after a complete operand is
/// an error in Teleport (the access check fails), not a match.
#[test]
fn a_line_break_after_an_operand_ends_the_expression() {
    assert_refused(&[
        // `)` on its own line without a trailing comma
        (
            "contains(user.spec.traits[\"team\"],\n labels[\"team\"]\n)",
            50,
            "missing ',' before newline in argument list",
        ),
        // an operator that starts the next line
        (
            "labels.env == \"prod\"\n&& labels.team == \"ops\"",
            21,
            "unexpected And",
        ),
        // ParseExpr takes the line break as the end, then finds `==`
        ("labels.env\n== \"prod\"", 11, "unexpected Eq"),
        (
            "labels[\"env\"\n] == \"prod\"",
            12,
            "expected RBracket, found newline",
        ),
        (
            "(labels.env == \"prod\"\n)",
            21,
            "expected RParen, found newline",
        ),
        ("labels\n.env == \"prod\"", 0, "is a map"),
        // a comment that runs to the end of the line is a line break
        (
            "labels.env == \"prod\" // note\n|| labels.env == \"dev\"",
            29,
            "unexpected Or",
        ),
        (
            "labels.env == \"prod\" /* a\n b */ || labels.env == \"dev\"",
            32,
            "unexpected Or",
        ),
        (
            "labels.env == \"prod\" /* a */\n|| labels.env == \"dev\"",
            29,
            "unexpected Or",
        ),
        // only one line break may end it
        ("labels.env == \"prod\"\n\n!", 22, "unexpected Not"),
    ]);
}

/// Line breaks Go's scanner passes over: after an operator, `(`, `[`, `,`
/// or `!`, and at the end of the text (one inserted semicolon), also
/// behind a comment on the expression's last line.
#[test]
fn line_breaks_where_go_accepts_them() {
    for expr in [
        "labels.env == \"prod\" &&\n labels.team == \"ops\"",
        "labels.env ==\n \"prod\"",
        "contains(\n user.spec.traits[\"team\"],\n labels[\"team\"])",
        "labels[\n\"env\"] == \"prod\"",
        "!\n(labels.env == \"dev\")",
        "labels.env == \"prod\"\n",
        "labels.env == \"prod\"\n\n  \n",
        "labels.env == \"prod\" // the production fleet\n",
        "labels.env == \"prod\" /* one line */ && labels.team == \"ops\"",
        "labels.env == /* a\n b */ \"prod\"",
        "labels.env == \"prod\" /* a */ /* b */",
        "labels.env == \"prod\"\r\n",
    ] {
        assert_eq!(check(expr), Ok(true), "{expr:?}");
    }
}

/// A Go keyword is never an identifier: `labels.type` is a syntax error in
/// Go (Teleport denies), while `labels["type"]` indexes with a string.
#[test]
fn go_keywords_are_not_names() {
    assert_refused(&[
        ("labels.type == \"db\"", 7, "keyword type"),
        (
            "contains(user.spec.traits.default, \"x\")",
            26,
            "keyword default",
        ),
        ("labels.range == \"x\"", 7, "keyword range"),
        ("labels.map == \"x\"", 7, "keyword map"),
        ("labels.go == \"x\"", 7, "keyword go"),
        ("type == \"x\"", 0, "keyword type"),
        ("labels[type] == \"x\"", 7, "keyword type"),
    ]);
    assert_eq!(check("labels[\"type\"] == \"db\""), Ok(true));
    // Names that only contain or resemble keywords are names.
    assert_eq!(
        check("labels.types == \"\" && labels.Type == \"\""),
        Ok(true)
    );
}

/// go/parser allows a trailing comma in an argument list (and in `m[k,]`),
/// which a `)` on its own line needs, and `...` after the last argument.
#[test]
fn trailing_commas_as_in_go() {
    for expr in [
        "contains(\n user.spec.traits[\"team\"],\n labels[\"team\"],\n)",
        "contains(user.spec.traits.team, labels.team,)",
        "contains_any(set(\"ops\", \"dev\",), user.spec.traits.team)",
        "labels[\"env\",] == \"prod\"",
        // `...` after the last argument (CallExpr.Ellipsis, which
        // vulcand/predicate ignores)
        "contains(user.spec.traits.team, labels.team...)",
        "contains_any(set(\"ops\"...,), user.spec.traits.team)",
    ] {
        assert_eq!(check(expr), Ok(true), "{expr:?}");
    }
    assert_refused(&[
        ("set(,) == set()", 4, "unexpected Comma"),
        ("contains(labels.a,, \"x\")", 18, "unexpected Comma"),
        ("contains(labels.a \"x\")", 18, "missing ',' or ')'"),
        ("labels[\"env\",,] == \"x\"", 13, "expected RBracket"),
        (
            "contains(user.spec.traits.team..., \"ops\")",
            35,
            "missing ',' or ')'",
        ),
        ("contains_any(set(...), set())", 17, "unexpected Ellipsis"),
    ]);
}

/// vulcand/predicate walks `*ast.ParenExpr` wherever an operand may be,
/// including the map of an index: `(labels)["env"]` is `labels["env"]`;
/// a parenthesised map is no selector base (`(labels).env` fails).
#[test]
fn parenthesised_operands_as_in_go() {
    for expr in [
        "(labels)[\"env\"] == \"prod\"",
        "((labels))[\"env\"] == (\"prod\")",
        "contains((user.spec.traits)[\"team\"], (labels)[\"team\"])",
        "contains(((user.spec.traits))[(\"team\")], labels.team)",
    ] {
        assert_eq!(check(expr), Ok(true), "{expr:?}");
    }
    assert_refused(&[
        ("(labels).env == \"x\"", 1, "is a map"),
        ("(labels) == \"x\"", 1, "is a map"),
        (
            "(labels[\"env\"])[\"x\"] == \"x\"",
            15,
            "unexpected LBracket",
        ),
        (
            "(user.spec).traits[\"x\"] == \"x\"",
            1,
            "unknown identifier",
        ),
        ("(labels)[\"env\"", 14, "expected RBracket"),
    ]);
}
