//! Go's `strings.ToLower` and `strings.ToUpper`, which Teleport's
//! `strings.lower` and `strings.upper` call: each character mapped on its
//! own by Unicode's simple case mapping (`unicode.ToLower`/`ToUpper`).
//! Rust's `str` methods apply the full mapping instead (`İ` → `i̇`, `ß` →
//! `SS`, a final `Σ` → `ς`), which can make an expression match where
//! Teleport's does not.

pub(super) fn to_lower(s: &str) -> String {
    s.chars().map(lower).collect()
}

pub(super) fn to_upper(s: &str) -> String {
    s.chars().map(upper).collect()
}

fn lower(c: char) -> char {
    let mut full = c.to_lowercase();
    match (full.next(), full.next()) {
        (Some(one), None) => one,
        // U+0130 is the one letter whose full lowercase is longer; its
        // simple lowercase is `i`.
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

fn upper(c: char) -> char {
    let mut full = c.to_uppercase();
    match (full.next(), full.next()) {
        (Some(one), None) => one,
        _ => simple_upper_of_expanding(c),
    }
}

/// The simple uppercase of a character whose full uppercase is several:
/// Greek letters with ypogegrammeni map to their titlecase forms; the
/// others (`ß`, `ŉ`, the ligatures...) have none and stay as they are.
fn simple_upper_of_expanding(c: char) -> char {
    let code = c as u32;
    let mapped = match code {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => code + 8,
        0x1FB3 | 0x1FC3 | 0x1FF3 => code + 9,
        _ => code,
    };
    char::from_u32(mapped).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_map_one_by_one_as_in_go() {
        assert_eq!(to_lower("İSTANBUL-OPS"), "istanbul-ops");
        assert_eq!(to_lower("ΟΔΟΣ"), "οδοσ", "no final-sigma rule");
        assert_eq!(to_lower("Prod-EU"), "prod-eu");
        assert_eq!(to_upper("straße"), "STRAßE");
        assert_eq!(to_upper("ᾳ ᾀ ῳ ﬁ"), "ᾼ ᾈ ῼ ﬁ");
        assert_eq!(to_upper("prod-eu ǆ"), "PROD-EU Ǆ");
    }
}
