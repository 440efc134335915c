//! The cutting of a file into documents: positions, markers, JSON arrays.

use super::*;

fn yaml_docs(text: &str) -> Vec<(u64, u64, &str)> {
    split_yaml(text)
        .into_iter()
        .map(|d| (d.line, d.content_line, d.text))
        .collect()
}

/// (start line, first content line, text) of each document.
type Expected = &'static [(u64, u64, &'static str)];

#[test]
fn yaml_splitting() {
    let cases: &[(&str, Expected)] = &[
        ("", &[]),
        ("# only a comment\n", &[]),
        ("---\n---\n# x\n---   # c\n", &[]),
        ("a: 1\n", &[(1, 1, "a: 1\n")]),
        (
            "a: 1\n---\nb: 2\n",
            &[(1, 1, "a: 1\n"), (2, 3, "---\nb: 2\n")],
        ),
        (
            "---\na: 1\n---\n\n---\nb: 2",
            &[(1, 2, "---\na: 1\n"), (5, 6, "---\nb: 2")],
        ),
        ("# head\n---\na: 1\n", &[(1, 3, "# head\n---\na: 1\n")]),
        (
            "--- {a: 1}\n--- # c\nb: 2\n",
            &[(1, 1, "--- {a: 1}\n"), (2, 3, "--- # c\nb: 2\n")],
        ),
        (
            "a: 1\n...\nb: 2\n",
            &[(1, 1, "a: 1\n...\n"), (3, 3, "b: 2\n")],
        ),
        (
            "%YAML 1.2\n---\na: 1\n",
            &[(1, 3, "%YAML 1.2\n---\na: 1\n")],
        ),
        (
            "a: 1\r\n---\r\nb: 2\r\n",
            &[(1, 1, "a: 1\r\n"), (2, 3, "---\r\nb: 2\r\n")],
        ),
        // Not markers: text after the dashes, or indented.
        (
            "a: ---x\n----\n  ---\n",
            &[(1, 1, "a: ---x\n----\n  ---\n")],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(yaml_docs(text), *want, "{text:?}");
    }
}

#[test]
fn json_splitting() {
    let text = "[\n  {\"a\": 1},\n  {\"b\": [1, {\"c\": \"]}\\\"\"}]}, null ,\n 7]";
    let docs = split(text, "x.json").unwrap();
    let got: Vec<(u64, u64, &str)> = docs.iter().map(|d| (d.line, d.column, d.text)).collect();
    assert_eq!(
        got,
        vec![
            (2, 3, "{\"a\": 1}"),
            (3, 3, "{\"b\": [1, {\"c\": \"]}\\\"\"}]}"),
            (3, 30, "null"),
            (4, 2, "7"),
        ]
    );
    let one = split("  {\"a\": 1}\n", "x.json").unwrap();
    assert_eq!(
        (one[0].line, one[0].column, one[0].text),
        (1, 3, "{\"a\": 1}\n")
    );
    assert!(split("[]", "x.json").unwrap().is_empty());
    let err = split("[\n {\"a\" 1}]", "x.json").unwrap_err();
    assert_eq!((err.line, err.column), (Some(2), Some(7)), "{err}");
}

#[test]
fn a_flow_style_first_document_is_yaml() {
    let text = "{\"kind\": \"role\", \"metadata\": {\"name\": \"r\"}}\n---\n{kind: role, metadata: {name: s}}\n";
    let docs = split(text, "x.yaml").unwrap();
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d.format == Format::Yaml));
    assert_eq!((docs[1].line, docs[1].content_line), (2, 3));
    // One JSON object, and objects one after another, stay JSON.
    assert!(is_json("{\"a\": \"---\"}\n"));
    assert!(is_json("{\"a\": 1}\n{\"b\": -1}\n"));
    assert!(is_json(" [\n---\n"));
}
