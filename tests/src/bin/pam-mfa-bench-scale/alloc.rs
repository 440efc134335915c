//! A counting global allocator over the agent's own (jemalloc,
//! agent/src/heap.rs): the bytes the program has asked for and not given
//! back (live heap), beside the kernel's VmRSS, so that the tables can tell
//! data from allocator slack.
//!
//! The count is kept in one slot per thread (64 of them, each on its own
//! cache line) and summed when read: a load decodes on two threads, and one
//! shared counter bounced between their cores on every allocation made the
//! measured load slower than the agent's, which counts nothing.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

use mfa_agent::heap::Allocator;

/// What the counts sit on: the agent's own allocator.
const UNDER: Allocator = Allocator {};

pub struct Counting;

const SLOTS: usize = 64;

#[repr(align(64))]
struct Slot(AtomicIsize);

static LIVE: [Slot; SLOTS] = [const { Slot(AtomicIsize::new(0)) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // A `Cell<usize>` needs no destructor: reading it never allocates,
    // which an allocator may not.
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's slot; a thread that frees what another allocated takes
/// the bytes off its own slot, and only the sum means anything.
fn slot() -> &'static AtomicIsize {
    let i = MY_SLOT.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS);
        }
        s.get()
    });
    &LIVE[i].0
}

fn grew(by: usize) {
    slot().fetch_add(by as isize, Ordering::Relaxed);
}

fn shrank(by: usize) {
    slot().fetch_sub(by as isize, Ordering::Relaxed);
}

// SAFETY: every call is passed on unchanged to the system allocator; the
// counters are only bookkeeping beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the underlying allocator's.
        let p = unsafe { UNDER.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { UNDER.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { UNDER.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { UNDER.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

/// Live heap bytes now: the sum over the threads' slots.
pub fn heap() -> usize {
    let sum: isize = LIVE.iter().map(|s| s.0.load(Ordering::Relaxed)).sum();
    sum.max(0) as usize
}
