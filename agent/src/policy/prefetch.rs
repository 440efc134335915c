//! Asking the CPU for memory before it is read (software prefetch), so
//! that reads a decision will make anyway, and that do not depend on each
//! other, wait for memory side by side instead of one after another.
//!
//! On a large bundle most of a decision's time is such waits (about 115 ns
//! each on the benchmark's machine, see BENCHMARKS.md's Scale section). A
//! prefetch only changes when a line arrives in the cache, never what a
//! read returns: the decisions are the same with or without it.

/// The size of a cache line on the CPUs this is tuned for.
const LINE: usize = 64;

/// At most this many lines of one value are asked for.
const LINES_AT_MOST: usize = 4;

/// Starts loading the cache lines that `value` spans (its first
/// [`LINES_AT_MOST`]), and returns at once. A no-op on targets other
/// than x86-64.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(value: &T) {
    let start = (value as *const T).cast::<i8>();
    let size = std::mem::size_of_val(value).max(1);
    let skew = start as usize % LINE;
    // The offset of the first byte of each line the value reaches.
    let mut offset = 0;
    for _ in 0..LINES_AT_MOST {
        if offset >= size {
            break;
        }
        prefetch_line(start.wrapping_add(offset));
        // The next line's first byte: up to the end of this line.
        offset += LINE - (offset + skew) % LINE;
    }
}

/// [`prefetch`] for the first element of `items`, if any.
#[inline(always)]
pub(crate) fn prefetch_first<T>(items: &[T]) {
    if let Some(first) = items.first() {
        prefetch(first);
    }
}

/// The line holding `address`, which lies inside a live value.
#[inline(always)]
fn prefetch_line(address: *const i8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it reads nothing into the program,
        // writes nothing and never faults, whatever the address (here one
        // inside a value the caller borrows). The intrinsic is `unsafe` by
        // its signature only; SSE, which it needs, is part of x86-64's
        // baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(address) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let v = vec![1u32, 2, 3];
        prefetch(&v[1]);
        prefetch_first(&v);
        prefetch_first::<u32>(&[]);
        prefetch("text");
        prefetch("");
        let block = [7u8; 300];
        prefetch(&block);
        prefetch(&block[7..]);
        assert_eq!(v, [1, 2, 3]);
        assert!(block.iter().all(|&b| b == 7));
    }
}
