//! Compiled regexes for label values, predicate `regexp.*` calls and trusted
//! cluster role maps, shared by every decision.
//!
//! Go's `regexp` (what Teleport compiles these with) has no memory cap a
//! realistic pattern meets: it compiles `^[\p{L}\p{N}_-]{1,253}$` into a few
//! hundred instructions over rune ranges. Rust's `regex` expands Unicode
//! classes into UTF-8 automata, so a bounded repeat of `\p{L}` needs
//! megabytes (`{1,63}`: under 4 MiB, `{1,253}`: under 16 MiB). A regex is
//! first compiled under a small size limit and, only when it does not fit,
//! under doubling limits up to [`MAX_SIZE`]; the cache is bounded both in
//! entries and in the sum of the limits its regexes needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

use super::go_regex::translate;

/// The first size limit tried (the `regex` crate's own default is 10 MiB).
const FIRST_SIZE: usize = 1 << 20;

/// The largest compiled program (per automaton) a pattern may need:
/// `[\p{L}\p{N}_-]{1,500}` fits; Go's `regexp` would also accept larger
/// repeats (up to `{1000}`), which are refused here (fail closed).
const MAX_SIZE: usize = 32 << 20;

/// At most this many cached regexes...
const MAX_ENTRIES: usize = 10_000;

/// ... and at most this much summed size limit (a bound on the cache's
/// memory: each regex holds at most about its limit per automaton).
const MAX_WEIGHT: usize = 256 << 20;

struct Entry {
    built: Result<Arc<Regex>, String>,
    weight: usize,
}

#[derive(Default)]
struct Cache {
    map: HashMap<String, Entry>,
    weight: usize,
}

/// The compiled form of `pattern` (Go's regex syntax, as Teleport reads it:
/// see `go_regex`), from the cache
/// or compiled now. Shared (an `Arc`), not cloned: a clone of a `Regex`
/// starts a new pool of matching caches, and building one cost a tenth of a
/// decision.
pub(crate) fn cached_regex(pattern: &str) -> Result<Arc<Regex>, String> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Cache::default()));
    if let Some(hit) = cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .map
        .get(pattern)
    {
        return hit.built.clone();
    }
    let (built, weight) = compile(pattern);
    let built = built.map(Arc::new);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.map.len() >= MAX_ENTRIES || cache.weight + weight > MAX_WEIGHT {
        cache.map.clear();
        cache.weight = 0;
    }
    if let Some(old) = cache.map.insert(
        pattern.to_owned(),
        Entry {
            built: built.clone(),
            weight,
        },
    ) {
        cache.weight -= old.weight;
    }
    cache.weight += weight;
    built
}

/// Compiles `pattern` under the smallest size limit (doubling from
/// [`FIRST_SIZE`] to [`MAX_SIZE`]) it fits; returns the regex or the error,
/// and the limit it needed (its weight in the cache).
fn compile(pattern: &str) -> (Result<Regex, String>, usize) {
    let translated = match translate(pattern) {
        Ok(t) => t,
        Err(e) => return (Err(format!("invalid regex {pattern:?}: {e}")), FIRST_SIZE),
    };
    let mut limit = FIRST_SIZE;
    loop {
        match regex::RegexBuilder::new(&translated)
            .size_limit(limit)
            .build()
        {
            Ok(re) => return (Ok(re), limit),
            Err(regex::Error::CompiledTooBig(_)) if limit < MAX_SIZE => limit *= 2,
            Err(regex::Error::CompiledTooBig(_)) => {
                return (
                    Err(format!(
                        "invalid regex {pattern:?}: it needs more than the agent's \
                         {} MiB limit for one compiled regex",
                        MAX_SIZE >> 20
                    )),
                    limit,
                )
            }
            Err(e) => return (Err(format!("invalid regex {pattern:?}: {e}")), FIRST_SIZE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{cached_regex, compile, FIRST_SIZE, MAX_SIZE};

    /// Unicode classes under bounded repeats compile, as in Go (they
    /// exceeded the old fixed 1 MiB limit: every login of such a role's
    /// holders was denied).
    #[test]
    fn unicode_classes_with_bounded_repeats_compile() {
        let cases: &[(&str, &str, bool)] = &[
            (r"^\pL{1,64}$", "J\u{f6}rg", true),
            (r"^\pL{1,64}$", "team-42", false),
            (r"^[\p{L}\p{N}_-]{1,63}$", "payments", true),
            (r"^[\p{L}\p{N}_-]{1,63}$", "pay ments", false),
            (
                r"^[\p{L}\p{N}_-]{1,253}$",
                "\u{43f}\u{43b}\u{430}\u{442}\u{435}\u{436}\u{438}",
                true,
            ),
        ];
        for (pattern, value, want) in cases {
            let re = cached_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(re.is_match(value), *want, "{pattern} vs {value:?}");
        }
    }

    /// Small patterns weigh the first limit; large ones what they needed;
    /// what exceeds the largest limit is an error that says so.
    #[test]
    fn weights_and_the_largest_limit() {
        assert_eq!(compile("^a+$").1, FIRST_SIZE);
        let (re, weight) = compile(r"^[\p{L}\p{N}_-]{1,253}$");
        assert!(re.is_ok());
        assert!(weight > FIRST_SIZE && weight <= MAX_SIZE, "{weight}");
        let (re, _) = compile(r"^\pL{1000}\pL{1000}\pL{1000}$");
        assert!(re.unwrap_err().contains("MiB limit"));
        assert!(compile("^(a$").0.unwrap_err().contains("invalid regex"));
    }
}
