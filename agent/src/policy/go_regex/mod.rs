//! Go's `regexp` syntax (what Teleport compiles label, role-map and
//! `regexp.*` patterns with: lib/utils/replace.go `replaceRegexCached`,
//! `RegexMatchesAny`) written as a Rust `regex` pattern that means the same.
//!
//! The two syntaxes mostly agree; where they differ, Go's meaning wins:
//! - escaped ASCII punctuation is a literal (`\<` `\>` are word boundaries in
//!   Rust); other unknown escapes, backreferences (`\1`), `\8`, `\C`, `\Z`
//!   are errors;
//! - `\Q...\E` quotes literal text; `\0`, `\012`, `\141` are octal;
//! - `\d \w \s \b` (and negations) are ASCII;
//! - in a class, `[` (other than `[:name:]`), `&&`, `--`, `~~` are literal;
//! - a `{` that is no repeat is a literal; repeats are at most 1000, also
//!   when nested (`(a{100}){100}` is an error), and never stacked (`a**`);
//! - flags are only `i m s U`; `(?)` is empty; group names `[A-Za-z0-9_]+`,
//!   a digit may lead and a name may repeat (each named group is renamed
//!   for Rust: see `capture_name`);
//! - `\p{Name}` only for the names Go knows (see `names`).
//!
//! Every literal is written as `\x{..}` (or as itself when an ASCII letter or
//! digit), so nothing Rust reads specially survives the translation.

pub(crate) mod capture_name;
mod escape;
mod names;
#[cfg(test)]
mod tests;

use escape::{literal, perl_class, perl_class_items};

/// The Rust `regex` pattern for the Go pattern `go`, or why Go refuses it.
pub(crate) fn translate(go: &str) -> Result<String, String> {
    let mut t = Translator {
        src: go,
        pos: 0,
        out: String::with_capacity(go.len() + 16),
        frames: vec![Frame::default()],
        named_groups: 0,
    };
    while t.pos < t.src.len() {
        t.step()?;
    }
    if t.frames.len() > 1 {
        return Err(format!("missing closing ) in {go:?}"));
    }
    Ok(t.out)
}

struct Translator<'a> {
    src: &'a str,
    pos: usize,
    out: String,
    /// The open groups, innermost last (the first is the whole pattern).
    frames: Vec<Frame>,
    /// How many named groups have been opened (see `capture_name`).
    named_groups: usize,
}

/// What a repeat operator would apply to (Go's top of the parse stack).
#[derive(Clone, Copy)]
struct Last {
    /// Where it starts and ends in the output.
    start: usize,
    end: usize,
    /// Whether the last token was a repeat (`a**` is an error in Go).
    just_repeated: bool,
    /// Whether it is already repeated (repeating it again needs a group).
    repeated: bool,
    /// The largest product of nested counted repeats inside it.
    product: u32,
}

#[derive(Default)]
struct Frame {
    /// Where the group starts in the output.
    start: usize,
    last: Option<Last>,
    /// The largest repeat product of anything in the group.
    product: u32,
}

/// Go's `maxRepeat`.
const MAX_REPEAT: u32 = 1000;

impl Translator<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the whole pattern's frame")
    }

    /// Appends an atom (something a repeat can apply to).
    fn atom(&mut self, text: &str, product: u32) {
        let start = self.out.len();
        self.out.push_str(text);
        let end = self.out.len();
        let frame = self.frame();
        frame.product = frame.product.max(product);
        frame.last = Some(Last {
            start,
            end,
            just_repeated: false,
            repeated: false,
            product,
        });
    }

    /// Any token that is no repeat: `a*(?i)*` is no stacked repeat in Go.
    fn not_a_repeat(&mut self) {
        if let Some(last) = self.frame().last.as_mut() {
            last.just_repeated = false;
        }
    }

    fn step(&mut self) -> Result<(), String> {
        let rest = &self.src[self.pos..];
        let c = rest.chars().next().unwrap_or_default();
        match c {
            '(' if rest.starts_with("(?") => self.flags_or_group()?,
            '(' => self.open("(", 1),
            ')' => self.close()?,
            '|' => {
                self.pos += 1;
                self.out.push('|');
                self.frame().last = None;
            }
            '^' | '$' | '.' => {
                self.pos += 1;
                self.atom(&format!("(?:{c})"), 1);
            }
            '[' => {
                let class = self.class()?;
                self.atom(&class, 1);
            }
            '*' | '+' | '?' => {
                self.pos += 1;
                self.repeat(c.to_string(), None)?;
            }
            '{' => match counted_repeat(rest) {
                Some((text, min, max)) => {
                    self.pos += text.len();
                    self.repeat(text.to_owned(), Some((min, max)))?;
                }
                None => {
                    self.pos += 1;
                    self.atom(&literal('{' as u32), 1);
                }
            },
            '\\' => self.backslash()?,
            c => {
                self.pos += c.len_utf8();
                self.atom(&literal(c as u32), 1);
            }
        }
        Ok(())
    }

    /// Opens a group written `text` in Rust, `consumed` bytes in Go.
    fn open(&mut self, text: &str, consumed: usize) {
        self.pos += consumed;
        self.out.push_str(text);
        let start = self.out.len() - text.len();
        self.frames.push(Frame {
            start,
            ..Frame::default()
        });
    }

    fn close(&mut self) -> Result<(), String> {
        if self.frames.len() == 1 {
            return Err(format!("unexpected ) in {:?}", self.src));
        }
        self.pos += 1;
        self.out.push(')');
        let group = self.frames.pop().expect("an open group");
        let text = self.out.split_off(group.start);
        self.atom(&text, group.product.max(1));
        Ok(())
    }

    /// `(?P<name>`, `(?<name>`, `(?flags)`, `(?flags:`: Go's
    /// `parsePerlFlags`.
    fn flags_or_group(&mut self) -> Result<(), String> {
        let rest = &self.src[self.pos..];
        let named = rest
            .strip_prefix("(?P<")
            .filter(|r| !r.is_empty())
            .or_else(|| rest.strip_prefix("(?<").filter(|r| !r.is_empty()));
        if let Some(after) = named {
            let end = after
                .find('>')
                .ok_or_else(|| format!("invalid named capture {rest:?}"))?;
            let name = &after[..end];
            let consumed = rest.len() - after.len() + end + 1;
            if !capture_name::is_valid(name) {
                return Err(format!("invalid named capture {:?}", &rest[..consumed]));
            }
            self.named_groups += 1;
            let renamed = capture_name::renamed(self.named_groups, name);
            self.open(&format!("(?P<{renamed}>"), consumed);
            return Ok(());
        }
        let body = &rest[2..];
        let mut negated = false;
        let mut saw_flag = false;
        for (i, c) in body.char_indices() {
            match c {
                'i' | 'm' | 's' | 'U' => saw_flag = true,
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' if !negated || saw_flag => {
                    let flags = &body[..i];
                    let consumed = 2 + i + 1;
                    if c == ':' {
                        self.open(&format!("(?{flags}:"), consumed);
                    } else {
                        self.pos += consumed;
                        if !flags.is_empty() {
                            self.out.push_str(&format!("(?{flags})"));
                        }
                        self.not_a_repeat();
                    }
                    return Ok(());
                }
                _ => {
                    return Err(format!(
                        "invalid or unsupported Perl syntax {:?}",
                        &rest[..2 + i + c.len_utf8()]
                    ))
                }
            }
        }
        Err(format!("invalid or unsupported Perl syntax {rest:?}"))
    }

    fn backslash(&mut self) -> Result<(), String> {
        let rest = &self.src[self.pos..];
        let e = rest[1..].chars().next();
        match e {
            Some('A') => self.fixed(2, r"(?:\A)"),
            Some('z') => self.fixed(2, r"(?:\z)"),
            Some('b') => self.fixed(2, r"(?-u:\b)"),
            Some('B') => self.fixed(2, r"(?-u:\B)"),
            Some('C') => {
                return Err(r"invalid escape sequence \C (any byte: Go refuses it)".to_owned())
            }
            Some('Q') => {
                let quoted = &rest[2..];
                let (text, skip) = match quoted.find("\\E") {
                    Some(end) => (&quoted[..end], end + 4),
                    None => (quoted, quoted.len() + 2),
                };
                self.pos += skip;
                self.not_a_repeat();
                for c in text.chars() {
                    self.atom(&literal(c as u32), 1);
                }
            }
            Some('p' | 'P') => {
                let class = self.unicode_class()?;
                self.atom(&class, 1);
            }
            Some(c) if perl_class_items(c).is_some() => {
                let (negated, items) = perl_class_items(c).unwrap_or_default();
                self.pos += 2;
                self.atom(&perl_class(negated, items), 1);
            }
            _ => {
                let cp = self.escape()?;
                self.atom(&literal(cp), 1);
            }
        }
        Ok(())
    }

    fn fixed(&mut self, len: usize, text: &str) {
        self.pos += len;
        self.atom(text, 1);
    }

    /// Applies a repeat operator (`*`, `+`, `?` or `{min,max}`, with a
    /// following `?` for non-greedy) to the last atom: Go's `repeat` and
    /// `repeatIsValid`.
    fn repeat(&mut self, mut op: String, counts: Option<(u32, Option<u32>)>) -> Result<(), String> {
        if self.peek() == Some('?') {
            self.pos += 1;
            op.push('?');
        }
        let Some(mut last) = self.frame().last else {
            return Err(format!("missing argument to repetition operator {op:?}"));
        };
        if last.just_repeated {
            return Err(format!("invalid nested repetition operator {op:?}"));
        }
        let mut product = last.product;
        if let Some((min, max)) = counts {
            if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                return Err(format!("invalid repeat count {op:?}"));
            }
            let m = max.unwrap_or(min);
            product = if m == 0 {
                1
            } else {
                m.saturating_mul(last.product.max(1))
            };
            if (min >= 2 || max.unwrap_or(0) >= 2) && product > MAX_REPEAT {
                return Err(format!(
                    "invalid repeat count {op:?} (nested repeats over {MAX_REPEAT})"
                ));
            }
        }
        if last.repeated {
            self.out.insert(last.end, ')');
            self.out.insert_str(last.start, "(?:");
            last.end += 4;
        }
        self.out.insert_str(last.end, &op);
        last.end += op.len();
        last.just_repeated = true;
        last.repeated = true;
        last.product = product;
        let frame = self.frame();
        frame.product = frame.product.max(product);
        frame.last = Some(last);
        Ok(())
    }
}

/// `{n}`, `{n,}`, `{n,m}` at the start of `s` (Go's `parseRepeat`: no
/// leading zeros, numbers too big are "invalid"): the text, min and max.
fn counted_repeat(s: &str) -> Option<(&str, u32, Option<u32>)> {
    let close = s.find('}')?;
    let body = &s[1..close];
    let number = |n: &str| -> Option<u32> {
        let ok = !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && !(n.len() >= 2 && n.starts_with('0'));
        // Go turns a number of 9 or more digits into "too big" (-1).
        ok.then(|| n.parse::<u32>().unwrap_or(u32::MAX).min(100_000_000))
    };
    let (min, max) = match body.split_once(',') {
        None => {
            let n = number(body)?;
            (n, Some(n))
        }
        Some((min, "")) => (number(min)?, None),
        Some((min, max)) => (number(min)?, Some(number(max)?)),
    };
    Some((&s[..close + 1], min, max))
}
