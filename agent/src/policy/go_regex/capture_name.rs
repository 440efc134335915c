//! Go's capture-group names, renamed for Rust's `regex`.
//!
//! Go accepts any name of `[A-Za-z0-9_]+` (src/regexp/syntax/parse.go
//! `isValidCaptureName`: "Python rejects names starting with digits. We
//! don't enforce either of those."), and accepts a name given to several
//! groups (`parsePerlFlags` checks no duplicates; src/regexp/regexp.go
//! `SubexpIndex`: "multiple subexpressions can be written using the same
//! name"). Rust's `regex` wants a name to start with a letter or `_` and
//! refuses duplicates, so `(?P<1a>x)` or `(?P<x>a)|(?P<x>b)` would be
//! "invalid" here where Teleport compiles and uses them.
//!
//! Every named group is therefore renamed `g{k}_{name}`: `k` counts the
//! pattern's named groups from 1, so no two renamed groups collide (the
//! digits of `k` end at the first `_`, and Go's name follows unchanged);
//! [`go_name`] reads Go's name back, for `$name` in replacements.

/// Whether `name` is a capture name Go accepts (`isValidCaptureName`:
/// ASCII letters, digits and `_`, at least one; a digit may lead).
pub(super) fn is_valid(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

/// The name Rust's `regex` gets for the `ordinal`-th (from 1) named group,
/// named `name` in Go.
pub(super) fn renamed(ordinal: usize, name: &str) -> String {
    format!("g{ordinal}_{name}")
}

/// The Go name of a group the translation renamed (see [`renamed`]);
/// `None` for a name it did not make.
pub(crate) fn go_name(rust_name: &str) -> Option<&str> {
    let rest = rust_name.strip_prefix('g')?;
    let (ordinal, name) = rest.split_once('_')?;
    let numbered = !ordinal.is_empty() && ordinal.bytes().all(|b| b.is_ascii_digit());
    (numbered && is_valid(name)).then_some(name)
}
