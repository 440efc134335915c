//! Escapes and character classes of Go's `regexp` syntax
//! (src/regexp/syntax/parse.go `parseEscape`, `parseClass`,
//! `parseUnicodeClass`, `parsePerlClassEscape`, `parseNamedClass`), written
//! out as Rust `regex` syntax that means the same.

use super::names::{is_go_unicode_class, is_other, is_surrogates};
use super::Translator;

/// Go's Perl classes (`\d \s \w` and negations) are ASCII; as the items of
/// a Rust class.
pub(super) fn perl_class_items(c: char) -> Option<(bool, &'static str)> {
    Some(match c {
        'd' => (false, "0-9"),
        'D' => (true, "0-9"),
        's' => (false, r"\t\n\x0C\r "),
        'S' => (true, r"\t\n\x0C\r "),
        'w' => (false, "0-9A-Za-z_"),
        'W' => (true, "0-9A-Za-z_"),
        _ => return None,
    })
}

/// The Rust class for a Perl class: `[0-9]`, `[^0-9]`...
pub(super) fn perl_class(negated: bool, items: &str) -> String {
    format!("[{}{items}]", if negated { "^" } else { "" })
}

/// One code point as an unambiguous Rust literal (also inside a class).
/// A surrogate (Go accepts `\x{D800}`, which matches nothing) becomes a
/// class that matches nothing.
pub(super) fn literal(cp: u32) -> String {
    match char::from_u32(cp) {
        Some(c) if c.is_ascii_alphanumeric() => c.to_string(),
        Some(_) => format!("\\x{{{cp:X}}}"),
        None => NOTHING.to_owned(),
    }
}

/// A Rust class that matches no character.
const NOTHING: &str = r"[^\x{0}-\x{10FFFF}]";

/// A Rust class that matches any character.
const ANY: &str = r"[\x{0}-\x{10FFFF}]";

/// The 14 POSIX classes Go knows inside brackets (`[[:alpha:]]`); Rust
/// knows the same names with the same (ASCII) meaning.
const POSIX: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

impl Translator<'_> {
    /// An escape that stands for one code point, at `\`: Go's
    /// `parseEscape`. Escaped ASCII punctuation is itself; `\0`, `\0NN`,
    /// `\NNN` (octal, a non-zero first digit needs a second one: `\1` is a
    /// backreference Go refuses), `\xHH`, `\x{H...}`, `\a \f \n \r \t \v`.
    pub(super) fn escape(&mut self) -> Result<u32, String> {
        let start = self.pos;
        self.pos += 1; // the backslash
        let Some(c) = self.next() else {
            return Err("trailing backslash at the end of the expression".to_owned());
        };
        let octal = |c: Option<char>| c.filter(|c| ('0'..='7').contains(c));
        match c {
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c as u32),
            '1'..='7' | '0' if c == '0' || octal(self.peek()).is_some() => {
                let mut value = c as u32 - '0' as u32;
                for _ in 1..3 {
                    let Some(d) = octal(self.peek()) else { break };
                    value = value * 8 + (d as u32 - '0' as u32);
                    self.pos += 1;
                }
                Ok(value)
            }
            'x' => self.hex_escape(start),
            'a' => Ok(0x07),
            'f' => Ok(0x0C),
            'n' => Ok(0x0A),
            'r' => Ok(0x0D),
            't' => Ok(0x09),
            'v' => Ok(0x0B),
            _ => Err(self.invalid_escape(start)),
        }
    }

    fn hex_escape(&mut self, start: usize) -> Result<u32, String> {
        let hex = |c: Option<char>| c.and_then(|c| c.to_digit(16));
        if self.peek() == Some('{') {
            self.pos += 1;
            let mut value: u32 = 0;
            let mut digits = 0;
            loop {
                match self.next() {
                    Some('}') if digits > 0 => return Ok(value),
                    c => match hex(c) {
                        Some(d) if value * 16 + d <= 0x10FFFF => {
                            value = value * 16 + d;
                            digits += 1;
                        }
                        _ => return Err(self.invalid_escape(start)),
                    },
                }
            }
        }
        match (hex(self.next()), hex(self.next())) {
            (Some(hi), Some(lo)) => Ok(hi * 16 + lo),
            _ => Err(self.invalid_escape(start)),
        }
    }

    fn invalid_escape(&self, start: usize) -> String {
        let end = self.pos.min(self.src.len()).max(start);
        format!("invalid escape sequence {:?}", &self.src[start..end])
    }

    /// `\pN`, `\p{Name}`, `\PN`, `\p{^Name}` at `\`: Go's
    /// `parseUnicodeClass`, as Rust's `\p{Name}` / `\P{Name}`.
    pub(super) fn unicode_class(&mut self) -> Result<String, String> {
        let start = self.pos;
        let mut negated = self.src[start + 1..].starts_with('P');
        self.pos += 2;
        let name = if self.peek() == Some('{') {
            let close = self.src[self.pos..]
                .find('}')
                .ok_or_else(|| format!("invalid character class {:?}", &self.src[start..]))?;
            let name = &self.src[self.pos + 1..self.pos + close];
            self.pos += close + 1;
            name
        } else {
            let from = self.pos;
            self.next();
            &self.src[from..self.pos]
        };
        let name = match name.strip_prefix('^') {
            Some(rest) => {
                negated = !negated;
                rest
            }
            None => name,
        };
        if !is_go_unicode_class(name) {
            return Err(format!(
                "invalid character class range {:?} (no Unicode class Go knows)",
                &self.src[start..self.pos]
            ));
        }
        if is_surrogates(name) {
            return Ok(if negated { ANY } else { NOTHING }.to_owned());
        }
        if is_other(name) {
            let items = r"\p{Cc}\p{Cf}\p{Co}";
            return Ok(format!("[{}{items}]", if negated { "^" } else { "" }));
        }
        Ok(format!("\\{}{{{name}}}", if negated { 'P' } else { 'p' }))
    }

    /// A bracketed class at `[`: Go's `parseClass`. `]` first and `-` first
    /// or last are literal; `[` other than `[:name:]`, `&&`, `--` and `~~`
    /// are literal (Rust reads them as nested classes and set operations, so
    /// every literal is written as `\x{..}`).
    pub(super) fn class(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::from("[");
        if self.peek() == Some('^') {
            self.pos += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            let rest = &self.src[self.pos..];
            if rest.is_empty() {
                return Err(format!("missing closing ] in {:?}", &self.src[start..]));
            }
            if rest.starts_with(']') && !first {
                self.pos += 1;
                out.push(']');
                return Ok(out);
            }
            first = false;
            if let Some(named) = self.posix_class()? {
                out.push_str(&named);
            } else if rest.starts_with("\\p") || rest.starts_with("\\P") {
                out.push_str(&self.unicode_class()?);
            } else if let Some((negated, items)) = rest
                .strip_prefix('\\')
                .and_then(|r| r.chars().next())
                .and_then(perl_class_items)
            {
                self.pos += 2;
                match negated {
                    false => out.push_str(items),
                    true => out.push_str(&perl_class(true, items)),
                }
            } else {
                out.push_str(&self.class_range(start)?);
            }
        }
    }

    /// `[:alpha:]` or `[:^alpha:]` at the cursor, if there is one.
    fn posix_class(&mut self) -> Result<Option<String>, String> {
        let rest = &self.src[self.pos..];
        if rest.len() <= 2 || !rest.starts_with("[:") {
            return Ok(None);
        }
        let Some(end) = rest[2..].find(":]") else {
            return Ok(None);
        };
        let whole = &rest[..end + 4];
        let name = &rest[2..end + 2];
        if !POSIX.contains(&name.strip_prefix('^').unwrap_or(name)) {
            return Err(format!("invalid character class range {whole:?}"));
        }
        let named = whole.to_owned();
        self.pos += named.len();
        Ok(Some(named))
    }

    /// One character or a range `a-z` in a class.
    fn class_range(&mut self, class_start: usize) -> Result<String, String> {
        let range_start = self.pos;
        let lo = self.class_char(class_start)?;
        let rest = &self.src[self.pos..];
        if rest.len() >= 2 && rest.starts_with('-') && !rest[1..].starts_with(']') {
            self.pos += 1;
            let hi = self.class_char(class_start)?;
            if hi < lo {
                return Err(format!(
                    "invalid character class range {:?}",
                    &self.src[range_start..self.pos]
                ));
            }
            return Ok(range(lo, hi));
        }
        Ok(range(lo, lo))
    }

    fn class_char(&mut self, class_start: usize) -> Result<u32, String> {
        match self.peek() {
            None => Err(format!(
                "missing closing ] in {:?}",
                &self.src[class_start..]
            )),
            Some('\\') => self.escape(),
            Some(c) => {
                self.pos += c.len_utf8();
                Ok(c as u32)
            }
        }
    }
}

/// Class items for `lo..=hi` without the surrogates Rust cannot write (Go
/// accepts them; no text holds one).
fn range(lo: u32, hi: u32) -> String {
    let parts = [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)];
    let items: String = parts
        .iter()
        .filter(|(lo, hi)| lo <= hi)
        .map(|&(lo, hi)| match lo == hi {
            true => literal(lo),
            false => format!("{}-{}", literal(lo), literal(hi)),
        })
        .collect();
    if items.is_empty() {
        NOTHING.to_owned()
    } else {
        items
    }
}
