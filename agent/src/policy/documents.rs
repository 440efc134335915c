//! Cutting one file into documents, each with its position in the file, so
//! that every error can name the real line and column.
//!
//! YAML: split on document markers (`---`, and `...` as an end marker) at the
//! start of a line, keeping the marker line in its document so columns stay
//! exact. JSON (first non-blank character `[` or `{`): one resource, or an
//! array whose elements are cut out by a small scanner after the whole text
//! has been checked by serde_json. (A well-formed array is usually read by
//! `json_stream` in one pass instead; this is the general way, and the one
//! whose errors that pass reproduces.)

use serde::de::IgnoredAny;

use super::error::PolicyError;

/// The syntax of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Json,
}

/// One document of a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Document<'a> {
    pub text: &'a str,
    pub format: Format,
    /// 1-based line of the file where `text` starts.
    pub line: u64,
    /// 1-based column of the file where `text` starts (JSON elements may start
    /// mid-line; YAML documents always start at column 1).
    pub column: u64,
    /// 1-based line of the document's first content, for messages about the
    /// document as a whole.
    pub content_line: u64,
}

/// Whether the text is JSON rather than YAML. A YAML stream whose first
/// document is written in flow style (`{kind: role, ...}`) starts with a
/// brace too; JSON has no line that starts with a `---` marker (no JSON
/// token starts with two minus signs, and a string holds no line break).
pub(crate) fn is_json(text: &str) -> bool {
    match text.trim_start().as_bytes().first() {
        Some(b'[') => true,
        Some(b'{') => !text.lines().any(|line| is_marker(line, "---")),
        _ => false,
    }
}

/// The documents of one file, empty ones left out.
pub(crate) fn split<'a>(text: &'a str, origin: &str) -> Result<Vec<Document<'a>>, PolicyError> {
    if is_json(text) {
        split_json(text, origin)
    } else {
        Ok(split_yaml(text))
    }
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Content of a line for the "is this document empty" question: the part
/// after a marker, without comments.
fn has_content(line: &str) -> bool {
    let line = line.trim_end_matches(['\r', '\n']);
    let rest = if is_marker(line, "---") || is_marker(line, "...") {
        &line[3..]
    } else {
        line
    };
    let rest = rest.trim();
    !rest.is_empty() && !rest.starts_with('#')
}

fn split_yaml<'a>(text: &'a str) -> Vec<Document<'a>> {
    struct Chunk {
        start: usize,
        line: u64,
        content_line: Option<u64>,
        has_marker: bool,
        in_directives: bool,
    }
    let mut docs = Vec::new();
    let push = |chunk: &Chunk, end: usize, docs: &mut Vec<Document<'a>>| {
        if let Some(content_line) = chunk.content_line {
            docs.push(Document {
                text: &text[chunk.start..end],
                format: Format::Yaml,
                line: chunk.line,
                column: 1,
                content_line,
            });
        }
    };
    let new_chunk = |start: usize, line: u64| Chunk {
        start,
        line,
        content_line: None,
        has_marker: false,
        in_directives: true,
    };
    let mut chunk = new_chunk(0, 1);
    let mut offset = 0usize;
    let mut line_no = 0u64;
    for raw in text.split_inclusive('\n') {
        line_no += 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += raw.len();
        if is_marker(line, "---") {
            if chunk.has_marker || chunk.content_line.is_some() {
                push(&chunk, start, &mut docs);
                chunk = new_chunk(start, line_no);
            }
            chunk.has_marker = true;
            chunk.in_directives = false;
            if has_content(line) {
                chunk.content_line.get_or_insert(line_no);
            }
            continue;
        }
        if is_marker(line, "...") {
            // Ends the document; whatever follows starts a new one.
            push(&chunk, offset, &mut docs);
            chunk = new_chunk(offset, line_no + 1);
            continue;
        }
        if chunk.in_directives && line.starts_with('%') {
            continue;
        }
        if has_content(line) {
            chunk.in_directives = false;
            chunk.content_line.get_or_insert(line_no);
        }
    }
    push(&chunk, text.len(), &mut docs);
    docs
}

fn split_json<'a>(text: &'a str, origin: &str) -> Result<Vec<Document<'a>>, PolicyError> {
    // Syntax first, over the whole text: positions are then exact.
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        return Err(json_error(&e, origin, 1, 1));
    }
    let bytes = text.as_bytes();
    let first = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let mut positions = LineCounter::new(text);
    if bytes[first] == b'{' {
        let (line, column) = positions.at(first);
        return Ok(vec![Document {
            text: &text[first..],
            format: Format::Json,
            line,
            column,
            content_line: line,
        }]);
    }
    // An array: cut out each element.
    let mut docs = Vec::new();
    let mut i = first + 1;
    loop {
        i = skip_ws(bytes, i);
        match bytes.get(i) {
            Some(b']') | None => break,
            Some(b',') => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let start = i;
        i = skip_value(bytes, i);
        let (line, column) = positions.at(start);
        docs.push(Document {
            text: &text[start..i],
            format: Format::Json,
            line,
            column,
            content_line: line,
        });
    }
    Ok(docs)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The end of the (syntactically valid) JSON value starting at `i`.
fn skip_value(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                if depth == 0 {
                    return i;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b',' if depth == 0 => return i,
            c if depth == 0 && c.is_ascii_whitespace() => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Byte offset → (line, column), for increasing offsets.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
    line_start: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn at(&mut self, offset: usize) -> (u64, u64) {
        while self.pos < offset {
            if self.bytes[self.pos] == b'\n' {
                self.line += 1;
                self.line_start = self.pos + 1;
            }
            self.pos += 1;
        }
        (self.line, (offset - self.line_start) as u64 + 1)
    }
}

/// A serde_json error for a text that starts at (`line`, `column`) of `origin`.
pub(crate) fn json_error(
    e: &serde_json::Error,
    origin: &str,
    line: u64,
    column: u64,
) -> PolicyError {
    let message = e.to_string();
    if e.line() == 0 {
        return PolicyError::at(origin, line, column, message);
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = message
        .strip_suffix(&suffix)
        .map(str::to_owned)
        .unwrap_or(message);
    let (abs_line, abs_column) = if e.line() == 1 {
        (line, column - 1 + e.column() as u64)
    } else {
        (line - 1 + e.line() as u64, e.column() as u64)
    };
    PolicyError::at(origin, abs_line, abs_column, message)
}

/// Deserializes one document into `T`, with errors positioned in the file.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    doc: &Document<'_>,
    origin: &str,
) -> Result<T, PolicyError> {
    match doc.format {
        Format::Json => {
            serde_json::from_str(doc.text).map_err(|e| json_error(&e, origin, doc.line, doc.column))
        }
        Format::Yaml => serde_saphyr::from_str_with_options(doc.text, yaml_options())
            .map_err(|e| yaml_error(&e, origin, doc)),
    }
}

/// YAML 1.2 core booleans only (so `yes`/`on` stay strings and go through
/// Teleport's string rules), and numbers that would lose their spelling
/// (`007`, `1_000`) kept as strings.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    }
}

fn yaml_error(e: &serde_saphyr::Error, origin: &str, doc: &Document<'_>) -> PolicyError {
    let offset = doc.line - 1;
    let rendered = e.render_with_options(serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
        line_offset: offset,
    });
    // Drop hints meant for programmers using the library.
    let rendered = match rendered.find(", set DuplicateKeyPolicy") {
        Some(cut) => {
            let rest = &rendered[cut..];
            let tail = rest.find(" at line ").map_or("", |i| &rest[i..]);
            format!("{}{tail}", &rendered[..cut])
        }
        None => rendered,
    };
    let rendered = rendered.trim().to_owned();
    match e.location() {
        Some(loc) if loc.line() > 0 => {
            let line = offset + loc.line();
            let column = loc.column().max(1);
            let suffix = format!(" at line {line}, column {}", loc.column());
            let message = rendered
                .strip_suffix(&suffix)
                .map(str::to_owned)
                .unwrap_or(rendered);
            PolicyError::at(origin, line, column, message)
        }
        _ => PolicyError {
            file: origin.to_owned(),
            line: Some(doc.content_line),
            column: None,
            message: rendered,
        },
    }
}

#[cfg(test)]
#[path = "documents_tests.rs"]
mod tests;
