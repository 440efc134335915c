//! Role values with trait templates, parsed once and shared by every
//! decision: a login or label value such as `{{internal.logins}}` is the
//! same text for every user who holds the role, and tokenizing it in Go's
//! syntax for each decision cost about a tenth of one (perf, BENCHMARKS.md).
//! Values come from the loaded policy (root's), never from a peer; the
//! cache is bounded all the same, and a reload that brings new values only
//! adds entries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::traits::{Template, TemplateError};

/// At most this many parsed values are kept (then all are forgotten).
const MAX_ENTRIES: usize = 10_000;

type Parsed = Arc<Result<Option<Template>, TemplateError>>;

/// `value` parsed as [`Template::parse`] does, from the cache or now.
pub(super) fn cached_template(value: &str) -> Parsed {
    static CACHE: OnceLock<Mutex<HashMap<String, Parsed>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(value) {
        return Arc::clone(hit);
    }
    let parsed = Arc::new(Template::parse(value));
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX_ENTRIES {
        cache.clear();
    }
    cache.insert(value.to_owned(), Arc::clone(&parsed));
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_is_parsed_once_and_errors_are_kept_too() {
        let a = cached_template("pre-{{internal.logins}}");
        let b = cached_template("pre-{{internal.logins}}");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(matches!(&*a, Ok(Some(_))));
        let bad = cached_template("{{internal.logins");
        assert!(matches!(&*bad, Err(TemplateError::Invalid(_))));
        assert!(Arc::ptr_eq(&bad, &cached_template("{{internal.logins")));
    }
}
