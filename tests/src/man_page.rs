//! The man pages' troff, read as a reader sees it: escapes undone, and
//! the example blocks (`.EX`/`.EE`, `.nf`/`.fi`) a reader copies.

/// `src` with the troff escapes that matter for searching undone: `\-` is
/// `-`, font changes and zero-width escapes vanish, `\(xx` is a space.
pub fn plain(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // \fB, \fI, \fR, \fP, \f[...]
            Some('f') => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                    }
                }
            }
            // \(em, \(aq ...: a two-letter special character.
            Some('(') => {
                chars.next();
                chars.next();
                out.push(' ');
            }
            Some('&' | 'c' | '%') | None => {}
            Some('e') => out.push('\\'),
            Some(other) => out.push(other),
        }
    }
    out
}

/// The `.EX`/`.EE` (or `.nf`/`.fi`) examples of a page, as plain text, each
/// with the page line it starts on.
pub fn examples(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in src.lines().enumerate() {
        if line.starts_with(".EX") || line.starts_with(".nf") {
            open = Some((i + 1, String::new()));
        } else if line.starts_with(".EE") || line.starts_with(".fi") {
            out.extend(open.take());
        } else if let Some((_, text)) = open.as_mut() {
            text.push_str(&plain(line));
            text.push('\n');
        }
    }
    out
}
