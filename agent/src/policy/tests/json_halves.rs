//! A large JSON array (a mebibyte or more) is read in two halves at once
//! (`load/parallel.rs`): the same bundle, warnings and errors as one pass,
//! and one pass whenever the cut is not between two elements.

use crate::policy::{load_bundle_str, Bundle};

/// `n` users, each with a device, as the publisher writes them (one a
/// line), between a role first and `last` (extra elements) at the end.
fn resources(n: usize) -> Vec<String> {
    let mut out = vec![
        r#"{"kind":"role","version":"v7","metadata":{"name":"ops"},"spec":{"allow":{"logins":["{{internal.logins}}"],"node_labels":{"env":"prod"}},"options":{"require_session_mfa":true}}}"#.to_owned(),
    ];
    for i in 0..n {
        out.push(format!(
            r#"{{"kind":"user","version":"v2","metadata":{{"name":"user{i:05}","revision":"0000000000000000000000000000000000000000"}},"spec":{{"roles":["ops"],"traits":{{"logins":["u{i:05}","team-{}"],"email":["user{i:05}@example.com"]}}}}}}"#,
            i / 8
        ));
        out.push(format!(
            r#"{{"kind":"mfa_device","version":"v1","metadata":{{"name":"key{i}"}},"spec":{{"user":"user{i:05}","webauthn":{{"credential_id":"AAAA{i:08}","public_key_cbor":"AAAA"}}}}}}"#
        ));
    }
    out
}

/// Enough elements for a text of more than a mebibyte.
const N: usize = 4000;

fn array(elements: &[String]) -> String {
    format!("[\n{}\n]\n", elements.join(",\n"))
}

fn load(text: &str) -> Bundle {
    assert!(text.len() > 1 << 20, "large enough to be read in halves");
    load_bundle_str(text, "big.json").unwrap_or_else(|e| panic!("{e}"))
}

/// The error loading `elements` gives (a bundle that loads is not printed:
/// it is large).
fn error(elements: &[String]) -> crate::policy::PolicyError {
    match load_bundle_str(&array(elements), "big.json") {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    }
}

fn same(a: &Bundle, b: &Bundle) {
    assert_eq!(a.roles(), b.roles());
    assert_eq!(a.users(), b.users());
    assert_eq!(a.devices(), b.devices());
    assert_eq!(a.warnings, b.warnings);
}

#[test]
fn halves_give_the_bundle_of_one_pass() {
    let elements = resources(N);
    let halves = load(&array(&elements));
    assert_eq!(halves.users().len(), N);
    assert_eq!(halves.devices().len(), N);
    // Devices keep bundle order, across the cut.
    let names: Vec<String> = (0..N).map(|i| format!("key{i}")).collect();
    assert!(halves
        .devices()
        .iter()
        .map(|d| &*d.name)
        .eq(names.iter().map(String::as_str)));
    // The same resources in a layout that cannot be cut (two a line, and
    // a role whose rules run over many lines, one object a line, across
    // the middle): read in one pass, the same bundle.
    let pairs: Vec<String> = elements.chunks(2).map(|c| c.join(", ")).collect();
    same(&halves, &load(&array(&pairs)));
    let rules = vec![r#"{"resources":["event"],"verbs":["list"]}"#; 30_000].join(",\n");
    let big_role = format!(
        r#"{{"kind":"role","version":"v7","metadata":{{"name":"wide"}},"spec":{{"allow":{{"rules":[
{rules}]}}}}}}"#
    );
    let mut with_role = elements.clone();
    with_role.insert(N, big_role);
    let text = array(&with_role);
    let middle = text.len() / 2;
    let role_at = text.find("\"wide\"").unwrap();
    assert!(
        role_at < middle && middle < role_at + rules.len(),
        "the role spans the middle"
    );
    let b = load(&text);
    assert_eq!(b.roles().len(), 2);
    assert_eq!(b.users(), halves.users());
}

#[test]
fn errors_and_warnings_in_either_half_as_one_pass() {
    let mut elements = resources(N);
    // An unknown kind in each half: warned in order, with its line.
    elements.insert(3, r#"{"kind":"windows_desktop","version":"v3"}"#.to_owned());
    elements.push(r#"{"kind":"app","version":"v3"}"#.to_owned());
    let last_line = elements.len() + 1;
    let b = load(&array(&elements));
    assert_eq!(
        super::support::warnings_beside_missing_cap(&b),
        [
            "big.json:5: skipped unknown kind 'windows_desktop'".to_owned(),
            format!("big.json:{last_line}: skipped unknown kind 'app'"),
        ]
    );

    // A user of the head again in the tail: the tail's line, the head's place.
    let mut dup = resources(N);
    dup.push(dup[1].clone());
    let e = error(&dup);
    assert_eq!(e.line, Some(dup.len() as u64 + 1), "{e}");
    assert!(
        e.message
            .contains("duplicate user \"user00000\" (first defined at big.json:3)"),
        "{e}"
    );

    // A bad element in the tail: its line and column.
    let mut bad = resources(N);
    let at = bad.len() - 9;
    assert!(bad[at].contains("mfa_device"));
    bad[at] = bad[at].replace("\"v1\"", "\"v9\"");
    let e = error(&bad);
    assert_eq!(e.line, Some(at as u64 + 2), "{e}");
    assert!(e.message.contains("unsupported resource version"), "{e}");
    assert!(e.column.is_some_and(|c| c > 1), "{e}");

    // A bad element in the head and a syntax error in the tail: the syntax
    // error is reported, as one pass reports it.
    let mut both = resources(N);
    both[1] = both[1].replace("\"v2\"", "\"v9\"");
    let at = both.len() - 5;
    both[at] = r#"{"kind": }"#.to_owned();
    let e = error(&both);
    assert_eq!(e.line, Some(at as u64 + 2), "{e}");

    // A device of the head whose key is registered again in the tail is
    // refused, as are two forms; the bundle in force would stay.
    let mut twice = resources(N);
    let at = twice.len() - 3;
    twice[at] = twice[at].replace(r#""webauthn":"#, r#""piv":{},"webauthn":"#);
    let e = error(&twice);
    assert_eq!(e.line, Some(at as u64 + 2), "{e}");
    assert!(e.message.contains("several forms"), "{e}");
}
