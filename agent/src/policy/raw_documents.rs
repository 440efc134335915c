//! A bundle text as untyped documents, each with the line it starts on:
//! for tools that rewrite resources (`mfactl publish` copies an allowlist of
//! fields) and must read the text exactly as the loader does (the same
//! document splitting, the same YAML options).

use super::documents::{decode, split};
use super::error::PolicyError;

/// One document of a text, as a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDocument {
    /// 1-based line of the document's first content.
    pub line: u64,
    /// The document; `Null` for a document that holds only `null`.
    pub value: serde_json::Value,
}

/// The documents of `text` (YAML documents, or JSON: one resource or an
/// array of them), empty ones left out. `origin` names the text in errors.
pub fn raw_documents(text: &str, origin: &str) -> Result<Vec<RawDocument>, PolicyError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    split(text, origin)?
        .iter()
        .map(|doc| {
            Ok(RawDocument {
                line: doc.content_line,
                value: decode::<serde_json::Value>(doc, origin)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_documents_with_their_lines() {
        let docs = raw_documents("# c\nkind: role\n---\nkind: user\nx: on\n", "f").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].line, docs[1].line), (2, 4));
        // YAML 1.2 core booleans, as the loader reads them.
        assert_eq!(docs[1].value["x"], "on");
        let docs = raw_documents("[\n{\"kind\":\"role\"},\n{\"kind\":\"lock\"}\n]", "f").unwrap();
        assert_eq!((docs[0].line, docs[1].line), (2, 3));
        let e = raw_documents("kind: [\n", "f.yaml").unwrap_err();
        assert!(e.to_string().starts_with("f.yaml:"), "{e}");
    }
}
