//! Go's `regexp` syntax against what Go itself does (cases checked against
//! src/regexp/syntax/parse.go and Go's documented syntax).

use super::{capture_name, translate};

fn matches(go: &str, text: &str) -> bool {
    let rust = translate(go).unwrap_or_else(|e| panic!("{go}: {e}"));
    regex::Regex::new(&rust)
        .unwrap_or_else(|e| panic!("{go} -> {rust}: {e}"))
        .is_match(text)
}

#[test]
fn escaped_punctuation_is_literal() {
    assert!(matches(r"^a\<b$", "a<b"));
    assert!(!matches(r"^a\<b$", "ab"));
    assert!(matches(r"^a\>b$", "a>b"));
    assert!(matches(r"^\_\-\~\#\&\ $", "_-~#& "));
    assert!(matches(r"^\.\*\{\}\[\]$", ".*{}[]"));
}

#[test]
fn quoted_text_and_octal_and_hex() {
    assert!(matches(r"^\Qprod.eu\E$", "prod.eu"));
    assert!(!matches(r"^\Qprod.eu\E$", "prodXeu"));
    assert!(matches(r"^\Qa*b", "a*b")); // no \E: quoted to the end
    assert!(matches(r"^\Qab\E+$", "abbb")); // the repeat takes the last char
    assert!(matches(r"^\141pp$", "app"));
    assert!(matches(r"^\0$", "\0"));
    assert!(matches(r"^\01a$", "\u{1}a"));
    assert!(matches(r"^\1234$", "S4")); // three octal digits at most
    assert!(matches(r"^\x41\x{1F600}$", "A\u{1F600}"));
    assert!(matches(r"^\a\f\v$", "\u{7}\u{c}\u{b}"));
}

#[test]
fn what_go_refuses_is_an_error() {
    for go in [
        r"\1",
        r"(a)\1",
        r"\8",
        r"\9",
        r"\C",
        r"\Z",
        r"\e",
        r"\q",
        r"\x",
        r"\xG0",
        r"\x{}",
        r"\x{110000}",
        "a\\",
        r"\p{Alphabetic}",
        r"\p{Grek}",
        r"\pX",
        r"[[:foo:]]",
        "a**",
        "a*+",
        "a+*",
        "a??*",
        "*",
        "(*)",
        "a|*",
        r"a{1001}",
        r"a{2,1}",
        r"(a{100}){11}",
        "(?x)a",
        "(?R)a",
        "(?u)a",
        "(?i-)a",
        "(?-)a",
        "(?--i)a",
        "(?=a)",
        "(?!a)",
        "(?<=a)b",
        "(?P=n)",
        "(?P<a-b>x)",
        "(?<>x)",
        "(a",
        "a)",
        "[a",
        "[]",
        "[z-a]",
        r"[\b]",
        r"[\Q]",
        r"[a-\d]",
        "[a--b]",
    ] {
        assert!(translate(go).is_err(), "{go:?} -> {:?}", translate(go));
    }
}

#[test]
fn classes_read_brackets_and_set_operators_literally() {
    assert!(matches(r"^[a[b]+$", "a[b"));
    assert!(matches(r"^[a&&b]+$", "a&&b"));
    assert!(matches(r"^[+--]+$", "+,-")); // the range + to -
    assert!(!matches(r"^[+--]+$", "a"));
    assert!(matches(r"^[a~~b]+$", "a~b"));
    assert!(matches(r"^[]a]+$", "]a"));
    assert!(matches(r"^[^]a]$", "b"));
    assert!(!matches(r"^[^]a]$", "]"));
    assert!(matches(r"^[a-]+$", "a-"));
    assert!(matches(r"^[-a]+$", "-a"));
    assert!(matches(r"^[a-c-e]+$", "b-e"));
    assert!(!matches(r"^[a-c-e]+$", "d"));
    assert!(matches(r"^[[:alpha:][:digit:]]+$", "a1"));
    assert!(matches(r"^[[:^alpha:]]+$", "1-"));
    assert!(matches(r"^[\d\-x]+$", "1-x"));
    assert!(!matches(r"^[\d]$", "\u{663}"));
    assert!(matches(r"^[^\D]$", "7"));
    assert!(matches(r"^[\p{Greek}\pN]+$", "\u{3b1}1"));
    assert!(matches(r"^[\x{D800}-\x{E000}]$", "\u{E000}"));
    // Go knows the surrogates' category (it matches no text); Rust does not.
    assert!(!matches(r"^\p{Cs}$", "a"));
    assert!(matches(r"^\P{Cs}$", "a"));
    assert!(matches(r"^[a\p{Cs}]$", "a"));
    // Go's C is Cc, Cf, Co (and Cs): no unassigned code point.
    assert!(!matches(r"^\p{C}$", "\u{378}"));
    assert!(matches(r"^\pC$", "\u{ad}"));
    assert!(matches(r"^\PC$", "\u{378}"));
}

#[test]
fn perl_classes_and_boundaries_are_ascii() {
    assert!(!matches(r"^\d$", "\u{663}"));
    assert!(!matches(r"^\w$", "\u{e9}"));
    assert!(!matches(r"^\s$", "\u{a0}"));
    assert!(!matches(r"^\s$", "\u{b}")); // Go's \s has no \v
    assert!(matches(
        r"^x\b\u{e9}$".replace(r"\u{e9}", "\u{e9}").as_str(),
        "x\u{e9}"
    ));
    assert!(matches(r"\Aab\z", "ab"));
    assert!(!matches(r"\Aab\z", "ab\n"));
}

#[test]
fn braces_repeats_and_flags_as_in_go() {
    assert!(matches(r"^a{$", "a{"));
    assert!(matches(r"^a{,2}$", "a{,2}"));
    assert!(matches(r"^a{01}$", "a{01}"));
    assert!(matches(r"^x{1,2,3}$", "x{1,2,3}"));
    assert!(matches(r"^a{2}$", "aa"));
    assert!(matches(r"^a{2,}$", "aaa"));
    assert!(matches(r"^(a{10}){100}$", &"a".repeat(1000)));
    assert!(matches(r"^a*?b$", "aab"));
    assert!(matches(r"^a*\Q\E*b$", "aab")); // (a*)* in Go
    assert!(matches(r"^a(?i)*$", "aaa")); // the * takes the a
    assert!(matches(r"^(?i)abc$", "ABC"));
    assert!(matches(r"^(?i:a)b$", "Ab"));
    assert!(!matches(r"^(?i:a)b$", "AB"));
    assert!(matches(r"^(?)a$", "a"));
    assert!(matches(r"(?s)^a.b$", "a\nb"));
    assert!(matches(r"(?m)^b$", "a\nb"));
    assert!(matches(r"(?U)^(a+)", "aaa"));
    assert!(matches(r"^(?P<x>a)(?<y>b)$", "ab"));
    assert!(matches(r"^\p{^Greek}$", "a"));
    assert!(matches(r"^\PL$", "1"));
    assert!(matches(r"^\p{letter}+$", "ab"));
    assert!(matches(r"^[^a]$", "\n"));
    assert!(matches(r"^a|b$", "b"));
    assert!(matches("", "anything"));
    assert!(matches(r"(?i)^\x{e9}\.$", "\u{c9}.")); // folding reaches escaped literals
    assert!(matches(r"^*a$", "a")); // Go repeats an empty-width assertion
    assert!(matches(r"^a$*", "a"));
}

/// Any text translates or is refused without a panic, and what translates
/// compiles in Rust (a fixed-seed walk over regex-heavy alphabets).
#[test]
fn arbitrary_patterns_never_panic_and_translations_compile() {
    let alphabet: Vec<char> = r"\()[]{}|^$.*+?-:&~<>,0123789aAbBdDpPQEeCxzZsSwW?iUmP=é{}"
        .chars()
        .collect();
    let mut seed: u64 = 0x5eed_1234;
    for _ in 0..20_000 {
        let mut text = String::new();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (seed >> 59) as usize + 1;
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
        }
        if let Ok(rust) = translate(&text) {
            let built = regex::RegexBuilder::new(&rust).size_limit(1 << 24).build();
            assert!(
                matches!(built, Ok(_) | Err(regex::Error::CompiledTooBig(_))),
                "{text:?} -> {rust:?}: {built:?}"
            );
        }
    }
}

/// Group names Go accepts and Rust's `regex` would not: a leading digit
/// (src/regexp/syntax/parse.go `isValidCaptureName`, "Python rejects names
/// starting with digits ... We don't enforce") and a name on several groups
/// (`parsePerlFlags` checks none; src/regexp/all_test.go `subexpCases`
/// compiles `(?P<foo>.*)(?P<bar>(a)b)(?P<foo>.*)a`). Teleport compiles and
/// matches them (`SliceMatchesRegex`), so they match here too.
#[test]
fn names_go_accepts_compile_and_match() {
    assert!(matches("^(?P<1a>worker)$", "worker"));
    assert!(!matches("^(?P<1a>worker)$", "workers"));
    assert!(matches("^(?<1a>worker)$", "worker"));
    assert!(matches("^(?P<1>a)(?P<01>b)(?P<_>c)(?P<9_z>d)$", "abcd"));
    assert!(matches("^(?P<x>hi)|(?P<x>bye)$", "bye"));
    assert!(matches("^(?P<foo>.*)(?P<bar>(a)b)(?P<foo>.*)a$", "xabya"));
    assert!(matches("^(?P<7>a)(?P<7>b)(?P<7>c)$", "abc"));
    for go in ["(?P<1a", "(?P<1-a>x)", "(?P<>x)", "(?P<é>x)", "(?P<a b>x)"] {
        assert!(translate(go).is_err(), "{go:?} -> {:?}", translate(go));
    }
}

/// Every named group gets a name of its own for Rust, numbered as Go
/// numbers the groups, from which its Go name reads back.
#[test]
fn named_groups_are_renamed_apart_and_read_back() {
    let go = "(a)(?P<1a>b)(?P<x>c)(?:d)(?P<1a>e)";
    let rust = translate(go).unwrap_or_else(|e| panic!("{go}: {e}"));
    let re = regex::Regex::new(&rust).unwrap_or_else(|e| panic!("{rust}: {e}"));
    let names: Vec<Option<&str>> = re
        .capture_names()
        .map(|n| n.and_then(capture_name::go_name))
        .collect();
    assert_eq!(names, [None, None, Some("1a"), Some("x"), Some("1a")]);
    let caps = re.captures("abcde").expect("a match");
    assert_eq!(&caps[2], "b");
    assert_eq!(&caps[4], "e");
    for not_renamed in ["x", "g", "g_x", "gx_y", "g1", "g1_", "g1_a-b", "h1_x"] {
        assert_eq!(capture_name::go_name(not_renamed), None, "{not_renamed}");
    }
    assert_eq!(capture_name::go_name("g12_3_4"), Some("3_4"));
}
