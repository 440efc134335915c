//! A large JSON array read in two halves at once: the publisher writes one
//! resource a line, so the text can be cut at a line that starts an
//! element. The tail is decoded (and each resource given Teleport's
//! defaults) on a thread of its own while this one reads the head into the
//! loader; the tail's resources are then added in bundle order, so
//! duplicates, warnings and the first error are exactly those of one pass.
//! When the cut is not between two elements of the array (any other
//! layout of valid JSON), the head's reading goes on to the end, as one
//! pass, and the tail's is dropped.

use super::super::documents::{Document, Format};
use super::super::error::PolicyError;
use super::super::json_stream::{for_each_element_in, Item, Part, Stop};
use super::super::resources::SharedNames;
use super::convert::{convert, Converted};
use super::Loader;

/// What the tail gave: its elements in order and, when one failed, the
/// error (nothing after it was read); `None` when it is not the rest of
/// a well-formed array.
struct Tail<'a> {
    items: Vec<Parsed<'a>>,
    error: Option<PolicyError>,
}

enum Parsed<'a> {
    /// A resource, and the line of its element.
    Converted(Converted, u64),
    /// An element to decode the general way (not the publisher's shape).
    Document(Document<'a>),
}

fn read_tail<'a>(text: &'a str, origin: &str, split: usize) -> Option<Tail<'a>> {
    let _names = SharedNames::default();
    let mut items = Vec::new();
    let read = for_each_element_in(text, origin, Part::Tail { split }, |item| {
        items.push(match item {
            Item::Resource(resource, doc) => {
                Parsed::Converted(convert(resource, &doc, origin)?, doc.content_line)
            }
            Item::Document(doc) => Parsed::Document(doc),
        });
        Ok(())
    });
    match read {
        Ok(Some(_)) => Some(Tail { items, error: None }),
        Ok(None) => None,
        Err(e) => Some(Tail {
            items,
            error: Some(e),
        }),
    }
}

/// Where to cut: the start of a line that begins an element, the line
/// before it ending with a comma, about half-way. `None` when there is none.
fn cut(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = text.len() / 2;
    while at < bytes.len() {
        let nl = at + bytes[at..].iter().position(|&b| b == b'\n')?;
        let start = nl + 1;
        let before = bytes[..nl].iter().rposition(|b| !b.is_ascii_whitespace())?;
        if bytes.get(start) == Some(&b'{') && bytes[before] == b',' {
            return Some(start);
        }
        at = start;
    }
    None
}

/// Adds the array in `text`, its tail read on a second thread. `Ok(None)`
/// when it is not a well-formed array (the caller's general way then
/// reports why, as after one pass).
pub(super) fn add_halves(
    loader: &mut Loader,
    text: &str,
    origin: &str,
) -> Result<Option<()>, PolicyError> {
    let Some(split) = cut(text) else {
        return Ok(None);
    };
    std::thread::scope(|s| {
        let tail = std::thread::Builder::new()
            .name("policy-load-2".into())
            .spawn_scoped(s, || read_tail(text, origin, split));
        let head = for_each_element_in(text, origin, Part::Head { split }, |item| match item {
            Item::Resource(resource, doc) => loader.add_resource(resource, &doc, origin),
            Item::Document(doc) => loader.add_document(&doc, origin),
        })?;
        let tail = match (head, tail) {
            (Some(Stop::End), _) => return Ok(Some(())),
            (None, _) => return Ok(None),
            (Some(Stop::Split), Ok(handle)) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No second thread: this one reads the tail.
            (Some(Stop::Split), Err(_)) => read_tail(text, origin, split),
        };
        let Some(tail) = tail else {
            return Ok(None);
        };
        for item in tail.items {
            match item {
                Parsed::Converted(c, line) => {
                    let doc = Document {
                        text: "",
                        format: Format::Json,
                        line,
                        column: 1,
                        content_line: line,
                    };
                    loader.add_converted(c, &doc, origin)?;
                }
                Parsed::Document(doc) => loader.add_document(&doc, origin)?,
            }
        }
        tail.error.map_or(Ok(Some(())), Err)
    })
}
