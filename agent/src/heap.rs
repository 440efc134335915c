//! The agent's heap allocator, and giving free memory back after a load.
//!
//! A full bundle (100,000 users, 200,000 devices) is over a million small
//! allocations that live as long as the bundle. glibc's malloc adds a
//! header to each and rounds it up: about 20 MiB on the generated full
//! bundle, for 120 MiB of data (BENCHMARKS.md). jemalloc's size classes add
//! no header. `mfa-agent` allocates with jemalloc ([`Allocator`]); mfactl,
//! which sshd starts for every login as its AuthorizedKeysCommand, keeps
//! the system allocator: it holds no bundle, and starts sooner without.

use std::ptr::null_mut;

/// The allocator `mfa-agent` declares as its global allocator.
pub type Allocator = tikv_jemallocator::Jemalloc;

/// Purges every arena: 4096 is jemalloc's `MALLCTL_ARENAS_ALL`.
const PURGE_ALL_ARENAS: &std::ffi::CStr = c"arena.4096.purge";

/// Gives the free pages of both heaps back to the kernel: jemalloc's (what
/// the agent allocates) and glibc's (what C libraries allocate). Parsing a
/// large bundle frees as much as the bundle keeps; neither allocator
/// returns all of it on its own at once.
pub fn release_free_memory() {
    // SAFETY: the name is a NUL-terminated constant; `purge` reads and
    // writes no value, so null pointers and a zero length are what mallctl
    // expects.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL_ARENAS.as_ptr(),
            null_mut(),
            null_mut(),
            null_mut(),
            0,
        );
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and has no precondition: it only
    // walks glibc's own arenas and advises the kernel of their free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
