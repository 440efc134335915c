//! The bundle's documents written out: a JSON array, one resource a line
//! (the publisher's form), or YAML documents in block style (as tctl prints).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Doc, Format};

pub(super) struct Writer<'w> {
    format: Format,
    w: &'w mut dyn Write,
    first: bool,
    buf: String,
}

impl<'w> Writer<'w> {
    pub(super) fn new(format: Format, w: &'w mut dyn Write) -> io::Result<Writer<'w>> {
        if format == Format::Json {
            w.write_all(b"[\n")?;
        }
        Ok(Writer {
            format,
            w,
            first: true,
            buf: String::new(),
        })
    }

    pub(super) fn doc(&mut self, doc: &Doc) -> io::Result<()> {
        self.buf.clear();
        match self.format {
            Format::Json => {
                if !self.first {
                    self.buf.push_str(",\n");
                }
                self.buf.push_str(&serde_json::to_string(doc)?);
            }
            Format::Yaml => {
                self.buf.push_str("---\n");
                yaml_block(&mut self.buf, doc, 0);
            }
        }
        self.first = false;
        self.w.write_all(self.buf.as_bytes())
    }

    pub(super) fn finish(self) -> io::Result<()> {
        if self.format == Format::Json {
            self.w.write_all(b"\n]\n")?;
        }
        self.w.flush()
    }
}

/// A scalar as YAML: plain when it is a safe word, else double-quoted (JSON
/// string syntax is valid YAML).
fn yaml_scalar(v: &Doc) -> String {
    match v {
        Doc::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
                );
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).expect("a string serializes")
            }
        }
        other => other.to_string(),
    }
}

fn yaml_block(out: &mut String, v: &Doc, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Doc::Object(map) => {
            for (k, val) in map {
                let key = yaml_scalar(&Doc::String(k.clone()));
                match val {
                    Doc::Object(m) if !m.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        yaml_block(out, val, indent + 2);
                    }
                    Doc::Array(a) if !a.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        yaml_block(out, val, indent);
                    }
                    Doc::Object(_) => {
                        let _ = writeln!(out, "{pad}{key}: {{}}");
                    }
                    Doc::Array(_) => {
                        let _ = writeln!(out, "{pad}{key}: []");
                    }
                    scalar => {
                        let _ = writeln!(out, "{pad}{key}: {}", yaml_scalar(scalar));
                    }
                }
            }
        }
        Doc::Array(items) => {
            for item in items {
                match item {
                    Doc::Object(m) if !m.is_empty() => {
                        // `- ` then the mapping, its first key on the dash line.
                        let mut inner = String::new();
                        yaml_block(&mut inner, item, indent + 2);
                        let inner = inner.trim_start();
                        let _ = write!(out, "{pad}- {inner}");
                    }
                    other => {
                        let _ = writeln!(out, "{pad}- {}", yaml_scalar(other));
                    }
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", yaml_scalar(scalar));
        }
    }
}
