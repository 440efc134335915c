//! `regexp.replace` against what Go and Teleport do.

use super::{regexp_replace, replace_all_go, GoTemplate, Piece};
use crate::policy::regex_cache::cached_regex;

/// Go's `regexp.MustCompile(pattern).ReplaceAllString(input, template)`.
fn go_replace_all(pattern: &str, input: &str, template: &str) -> String {
    let re = cached_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    replace_all_go(&re, input, template)
}

/// (pattern, input, template, what Go's `ReplaceAllString` returns).
type Case<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Go's own table: src/regexp/all_test.go `replaceTests` (substitutions,
/// empty matches, groups that take no part, a name on two groups).
#[test]
fn go_replace_tests() {
    let cases: &[Case<'_>] = &[
        ("[a-c]*", "def", "x", "xdxexfx"),
        ("[a-c]+", "abcbcdcdedef", "x", "xdxdedef"),
        ("[a-c]*", "abcbcdcdedef", "x", "xdxdxexdxexfx"),
        ("a+", "banana", "($0)", "b(a)n(a)n(a)"),
        ("a+", "banana", "(${0})", "b(a)n(a)n(a)"),
        ("a+", "banana", "(${0})$0", "b(a)an(a)an(a)a"),
        (
            "hello, (.+)",
            "hello, world",
            "goodbye, ${1}",
            "goodbye, world",
        ),
        ("hello, (.+)", "hello, world", "goodbye, $1x", "goodbye, "),
        (
            "hello, (.+)",
            "hello, world",
            "goodbye, ${1}x",
            "goodbye, worldx",
        ),
        (
            "hello, (.+)",
            "hello, world",
            "<$0><$1><$2><$3>",
            "<hello, world><world><><>",
        ),
        (
            "hello, (?P<noun>.+)",
            "hello, world",
            "goodbye, $noun!",
            "goodbye, world!",
        ),
        (
            "hello, (?P<noun>.+)",
            "hello, world",
            "goodbye, ${noun}",
            "goodbye, world",
        ),
        ("(?P<x>hi)|(?P<x>bye)", "hi", "$x$x$x", "hihihi"),
        ("(?P<x>hi)|(?P<x>bye)", "bye", "$x$x$x", "byebyebye"),
        ("(?P<x>hi)|(?P<x>bye)", "hi", "$xyz", ""),
        ("(?P<x>hi)|(?P<x>bye)", "hi", "${x}yz", "hiyz"),
        ("(?P<x>hi)|(?P<x>bye)", "hi", "hello $$x", "hello $x"),
        ("a+", "aaa", "${oops", "${oops"),
        ("a+", "aaa", "$$", "$"),
        ("a+", "aaa", "$", "$"),
        ("(x)?", "123", "$1", "123"),
        ("abc", "123", "$1", "123"),
        ("(a)(b){0}(c)", "xacxacx", ".$1|$3.", "x.a|c.x.a|c.x"),
        ("(a)(((b))){0}c", "xacxacx", ".$1.", "x.a.x.a.x"),
    ];
    for (pattern, input, template, want) in cases {
        assert_eq!(
            go_replace_all(pattern, input, template),
            *want,
            "{pattern:?} {input:?} {template:?}"
        );
    }
}

/// Go's `extract` rules on `adm-bob` (group 1 = `bob`), where they differ
/// from the `regex` crate's or are easy to get wrong.
#[test]
fn go_expansion_rules() {
    let adm = "^adm-(.*)$";
    let user = "^adm-(?P<user>.*)$";
    // Only one of the two alternatives' groups takes part.
    let either = "^(?:adm-(a.*)|adm-(b.*))$";
    let cases: &[Case<'_>] = &[
        (adm, "adm-bob", "$1", "bob"),
        (adm, "adm-bob", "${1}", "bob"),
        // A leading zero makes a name (`01`), which no group has.
        (adm, "adm-bob", "$01", ""),
        (adm, "adm-bob", "${01}", ""),
        (adm, "adm-bob", "$00", ""),
        (adm, "adm-bob", "$0", "adm-bob"),
        (adm, "adm-bob", "${0}", "adm-bob"),
        // The name is the longest run of letters, digits and `_`.
        (adm, "adm-bob", "$1é", ""),
        (adm, "adm-bob", "${1}é", "bobé"),
        (adm, "adm-bob", "$1x", ""),
        (adm, "adm-bob", "${1}x", "bobx"),
        (adm, "adm-bob", "$1_", ""),
        (adm, "adm-bob", "$1\u{663}", ""), // ARABIC-INDIC DIGIT THREE (Nd)
        (adm, "adm-bob", "$1\u{2167}", "bob\u{2167}"), // ROMAN NUMERAL EIGHT (Nl)
        (adm, "adm-bob", "$1-$1", "bob-bob"),
        (adm, "adm-bob", "$1.x", "bob.x"),
        (adm, "adm-bob", "$_", ""),
        (adm, "adm-bob", "$é", ""),
        // `$$` is a `$`; a `$` without a name is text.
        (adm, "adm-bob", "$$1", "$1"),
        (adm, "adm-bob", "$$$1", "$bob"),
        (adm, "adm-bob", "$", "$"),
        (adm, "adm-bob", "u$", "u$"),
        (adm, "adm-bob", "${", "${"),
        (adm, "adm-bob", "${}", "${}"),
        (adm, "adm-bob", "${1", "${1"),
        (adm, "adm-bob", "${1 }", "${1 }"),
        (adm, "adm-bob", "$-1", "$-1"),
        (adm, "adm-bob", "$ 1", "$ 1"),
        // Numbers past the groups expand to nothing; from the tenth digit
        // on, past 1e8, the name is no number (still nothing).
        (adm, "adm-bob", "$2", ""),
        (adm, "adm-bob", "$10", ""),
        (adm, "adm-bob", "$100000000", ""),
        (adm, "adm-bob", "$1000000000", ""),
        (adm, "adm-bob", "x$99999999999999999999999y", "x"),
        // Named groups, which are numbered too.
        (user, "adm-bob", "$user", "bob"),
        (user, "adm-bob", "${user}s", "bobs"),
        (user, "adm-bob", "$users", ""),
        (user, "adm-bob", "$1", "bob"),
        (user, "adm-bob", "$USER", ""),
        // A group that took no part.
        (either, "adm-bob", "[$1][$2]", "[][bob]"),
        (either, "adm-alice", "[$1][$2]", "[alice][]"),
        (either, "adm-bob", "$1", ""),
    ];
    for (pattern, input, template, want) in cases {
        assert_eq!(
            go_replace_all(pattern, input, template),
            *want,
            "{pattern:?} {input:?} {template:?}"
        );
    }
}

/// Group names that start with a digit, which Go accepts
/// (src/regexp/syntax/parse.go `isValidCaptureName`) and the `regex` crate
/// does not: a name is still read as Go's `extract` reads it, a name that
/// is a number (`$1`) still means a group number, and a name no group has
/// expands to nothing.
#[test]
fn names_that_start_with_a_digit() {
    let cases: &[Case<'_>] = &[
        ("(?P<1a>b)", "abc", "[$1a]", "a[b]c"),
        ("(?P<1a>b)", "abc", "[${1a}]", "a[b]c"),
        ("(?P<1a>b)", "abc", "[$1]", "a[b]c"),
        ("(?P<1a>b)", "abc", "[$1b]", "a[]c"),
        ("(?P<1a>b)", "abc", "[${1}a]", "a[ba]c"),
        // `$1` is group 1, whatever group 2 is named.
        ("(a)(?P<1>b)", "ab", "[$1]", "[a]"),
        ("(a)(?P<1>b)", "ab", "[$2]", "[b]"),
        // `$01` and `$007` are names, not numbers.
        ("(a)(?P<01>b)", "ab", "[$01]", "[b]"),
        ("(a)(?P<01>b)", "ab", "[$1]", "[a]"),
        ("(?P<007>b)", "b", "[$007][$7][$0]", "[b][][b]"),
        ("(?P<1000000000>b)", "b", "[$1000000000]", "[b]"),
        // Only the leftmost group so named that took part.
        ("(?P<9x>a)?(?P<9x>b)", "b", "[$9x]", "[b]"),
        ("(?P<9x>a)?(?P<9x>b)", "ab", "[$9x]", "[a]"),
        ("(?P<9x>a)|(?P<9x>b)", "b", "[$9x]", "[b]"),
        // `$9` is group 9 (none), not the group named `9`.
        ("(?P<9>a)", "a", "[$9][${9}]", "[][]"),
        // The name a group gets for the `regex` crate is no Go name.
        ("(?P<1a>b)", "abc", "[$g1_1a]", "a[]c"),
        ("(?P<x>b)", "abc", "[$g1_x]", "a[]c"),
    ];
    for (pattern, input, template, want) in cases {
        assert_eq!(
            go_replace_all(pattern, input, template),
            *want,
            "{pattern:?} {input:?} {template:?}"
        );
    }
}

/// The numbers Go's `extract` reads, at its edges.
#[test]
fn group_numbers() {
    let cases: &[(&str, Piece)] = &[
        ("$0", Piece::Group(0)),
        ("$7", Piece::Group(7)),
        ("$07", Piece::Named("07".into())),
        ("$99999999", Piece::Group(99_999_999)),
        ("$100000000", Piece::Group(100_000_000)),
        ("$999999999", Piece::Group(999_999_999)),
        ("$1000000000", Piece::Named("1000000000".into())),
        ("$1x", Piece::Named("1x".into())),
    ];
    for (template, want) in cases {
        assert_eq!(
            GoTemplate::parse(template).pieces,
            std::slice::from_ref(want),
            "{template}"
        );
    }
}

/// Teleport's own `regexp.replace` cases: lib/utils/parse/parse_test.go
/// (`TestVariable`, `TestInterpolate`), lib/services/role_test.go
/// (`TestApplyTraits`), lib/services/parser_test.go (`TestLabelExpressions`).
/// Values the regex does not match, and empty results, are dropped.
#[test]
fn teleport_regexp_replace_cases() {
    type ListCase<'a> = (&'a [&'a str], &'a str, &'a str, &'a [&'a str]);
    let cases: &[ListCase<'_>] = &[
        (&["foovalue"], "^(.*)value$", "$1", &["foo"]),
        (&["abc"], "c", "z", &["abz"]),
        (&["bar-baz"], "bar-(.*)", "$1", &["baz"]),
        (&["bar-baz"], "bar-(?P<suffix>.*)", "$suffix", &["baz"]),
        (&["foo-bar-baz"], "foo-(.*)-(.*)", "$1.$2", &["bar.baz"]),
        (
            &["foo-test1", "bar-test2"],
            "^bar-(.*)$",
            "$1-matched",
            &["test2-matched"],
        ),
        (&["bar-baz"], "^bar-(.*)$", "$1", &["baz"]),
        (&["ab_cd@example.com"], "_", "", &["abcd@example.com"]),
        (&["ab_cd@example.com"], "d", "e", &["ab_ce@example.com"]),
        (
            &["vitor@gravitational.com"],
            "gravitational",
            "goteleport",
            &["vitor@goteleport.com"],
        ),
        (&["team-security"], "^team-(.*)$", "$1", &["security"]),
        (&["staging"], "^(.*)$", "env-$1", &["env-staging"]),
        // A match replaced by nothing is dropped, as Go's `stringListMap`.
        (&["adm-", "adm-bob"], "^adm-(.*)$", "$1", &["bob"]),
        (&["adm-bob"], "^adm-(.*)$", "$01", &[]),
        (&["adm-bob"], "^adm-(.*)$", "$1é", &[]),
        (&[], "^adm-(.*)$", "$1", &[]),
    ];
    for (values, pattern, template, want) in cases {
        let re = cached_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        assert_eq!(
            regexp_replace(&re, values.iter().copied(), template),
            *want,
            "{values:?} {pattern:?} {template:?}"
        );
    }
}
