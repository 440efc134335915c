//! What a large load needs beside parsing: a thread (and malloc arena) of
//! its own, the heap trimmed after it, and duplicate checks of devices that
//! keep no copy of their strings.

use std::collections::HashMap;

use super::bundle::Bundle;
use super::error::PolicyError;

/// A text this long is loaded on a thread of its own, and the heap trimmed
/// after it.
pub(super) const LARGE: usize = 1 << 20;

/// Runs a large load on a thread of its own. glibc gives each thread its
/// own malloc arena: the hundreds of thousands of small blocks a load
/// allocates and frees stay in that one, and do not slow down every later
/// allocation of the caller's thread (measured: `decide` on the full
/// benchmark bundle spent a quarter of its time in malloc, searching the
/// free lists the load left). A thread that cannot start is a load error:
/// the policy in force stays.
pub(super) fn on_own_thread(
    origin: &str,
    load: impl FnOnce() -> Result<Bundle, PolicyError> + Send,
) -> Result<Bundle, PolicyError> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("policy-load".into())
            .spawn_scoped(s, || {
                yield_to_logins();
                load()
            })
            .map_err(|e| PolicyError::in_file(origin, format!("cannot start loading: {e}")))?;
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Nice value of a large load's threads: a reload runs beside the threads
/// that decide logins, and on a machine with few cores it must not take
/// the CPU from them (Linux's scheduler gives a nice-0 thread about nine
/// times the CPU of a nice-10 one when both want it; alone, a load runs at
/// full speed). The threads the load starts inherit it.
const LOAD_NICE: i32 = 10;

/// Lowers the calling thread's priority to [`LOAD_NICE`], never raising
/// it (an agent run at a lower priority still, stays there): on Linux
/// `getpriority`/`setpriority(PRIO_PROCESS, 0, ...)` apply to the calling
/// thread only. Best effort: a load at normal priority is still correct.
fn yield_to_logins() {
    // SAFETY: getpriority and setpriority take no pointer; `0` names the
    // calling thread. A failed getpriority (-1, which is also a valid
    // nice) only makes the thread yield.
    unsafe {
        if libc::getpriority(libc::PRIO_PROCESS, 0) < LOAD_NICE {
            let _ = libc::setpriority(libc::PRIO_PROCESS, 0, LOAD_NICE);
        }
    }
}

/// After a large load, gives the free pages of the heap back to the
/// kernel ([`crate::heap::release_free_memory`]): parsing frees as much as
/// the bundle keeps (the text, the documents, the duplicate checks). Below
/// a mebibyte of text it is not worth the walk over the heap.
pub(super) fn release_free_heap(text_len: usize) {
    if text_len >= LARGE {
        crate::heap::release_free_memory();
    }
}

/// Resources by a hash of one of their strings (a name, a key): the first
/// resource with each hash, and (in practice never) the later ones whose
/// different strings share a hash with it. No copy of the strings: a hit is
/// compared with the resource itself (a bundle may hold hundreds of
/// thousands).
#[derive(Default)]
pub(super) struct Claims {
    first: HashMap<u64, u32>,
    collided: Vec<u32>,
}

impl Claims {
    /// The claimed resource for which `same` holds, if any; else claims
    /// `new` (the next resource's position).
    pub(super) fn claim(&mut self, hash: u64, new: u32, same: impl Fn(u32) -> bool) -> Option<u32> {
        let found = self
            .first
            .get(&hash)
            .into_iter()
            .chain(&self.collided)
            .find(|&&d| same(d))
            .copied();
        if found.is_none() {
            match self.first.entry(hash) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(new);
                }
                std::collections::hash_map::Entry::Occupied(_) => self.collided.push(new),
            }
        }
        found
    }

    pub(super) fn reserve(&mut self, n: usize) {
        self.first.reserve(n);
    }
}

#[cfg(test)]
mod tests {
    /// The load's thread yields, and only it: the caller keeps its priority.
    #[test]
    fn a_large_load_runs_at_a_lower_priority_than_its_caller() {
        // SAFETY: getpriority takes no pointer; `0` names the calling thread.
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let before = nice();
        let inside = super::on_own_thread("t", || {
            let during = nice();
            Err(crate::policy::PolicyError::in_file(
                "t",
                format!("{during}"),
            ))
        })
        .unwrap_err()
        .to_string();
        let during: i32 = inside
            .rsplit(' ')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap_or(-99);
        assert_eq!(during, before.max(super::LOAD_NICE), "{inside}");
        assert_eq!(nice(), before);
    }
}
