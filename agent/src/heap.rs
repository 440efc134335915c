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

/// jemalloc's options for the agent, read from the `_rjem_malloc_conf`
/// symbol of the binary ([`crate::jemalloc_options!`] defines it).
///
/// `oversize_threshold:0`: by default jemalloc serves allocations of 8 MiB
/// and more (a bundle's text, the index's large arrays) from an arena of
/// their own that gives their pages back the moment they are freed. Each of
/// those munmap/madvise calls interrupts the other core (a TLB shootdown),
/// where the agent decides logins: deciding while a full bundle reloaded
/// measured p99 35-38 µs against 13-14 at rest (BENCHMARKS.md); without the
/// separate arena, 19-24 µs, and the load itself is faster. The pages are
/// given back after the load instead ([`release_free_memory`]).
pub const MALLOC_CONF: &[u8] = b"oversize_threshold:0\0";

/// Defines jemalloc's options ([`MALLOC_CONF`]) in a binary that allocates
/// with [`Allocator`]: jemalloc reads them from a symbol, which only the
/// binary's own code reliably provides.
#[macro_export]
macro_rules! jemalloc_options {
    () => {
        // jemalloc declares `const char *_rjem_malloc_conf` (weak, NULL by
        // default): a thin pointer to the first byte of the NUL-terminated
        // options, which `&u8` is (a `&[u8]` would be a pointer and a length).
        #[allow(non_upper_case_globals)]
        #[export_name = "_rjem_malloc_conf"]
        pub static malloc_conf: &u8 = &$crate::heap::MALLOC_CONF[0];
    };
}

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
