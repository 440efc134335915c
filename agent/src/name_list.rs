//! Names in a sentence: a list may hold thousands (the users of a shared
//! login, the users that vanished with one bundle), so a message names the
//! first few and says how many more.

/// All of `names` joined by `sep` when there are at most `at_most`, else
/// the first `at_most` and how many more.
pub fn first_names<S: AsRef<str>>(names: &[S], at_most: usize, sep: &str) -> String {
    let shown: Vec<&str> = names.iter().take(at_most).map(AsRef::as_ref).collect();
    let shown = shown.join(sep);
    match names.len().saturating_sub(at_most) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::first_names;

    #[test]
    fn few_names_are_all_named_and_many_are_counted() {
        assert_eq!(first_names(&["a", "b"], 2, ", "), "a, b");
        assert_eq!(
            first_names(&["a", "b", "c"], 2, " or "),
            "a or b and 1 more"
        );
        assert_eq!(first_names::<&str>(&[], 2, ", "), "");
    }
}
