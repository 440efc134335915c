//! What one cold read costs on this machine: the bound under `decide`'s
//! growth from a small bundle to a large one.
//!
//! A pointer chase: a random cycle through one word on each 64-byte line
//! of a block as large as a bundle's live heap, each read's address taken
//! from the read before, so no two reads overlap (as a decision's reads
//! that each find the next block: a login's index slot, then the user,
//! then its roles, then their logins). Fixed seed; the cycle is walked
//! once untimed first, so every page is mapped.

use std::time::Instant;

use pam_mfa_e2e::scale_bundle::{Rng, SEED};

/// `u32` words in one 64-byte cache line.
const LINE_WORDS: usize = 16;
/// Reads timed per block size.
const TIMED_READS: usize = 2_000_000;

/// Nanoseconds per dependent read over a block of `kib` KiB (at least one
/// page).
pub fn dependent_read_ns(kib: u64) -> f64 {
    let lines = usize::try_from(kib.max(4) * 1024 / 64).expect("block size");
    let next = random_cycle(lines);
    let mut at = 0u32;
    for _ in 0..lines {
        at = next[at as usize * LINE_WORDS];
    }
    let started = Instant::now();
    for _ in 0..TIMED_READS {
        at = next[at as usize * LINE_WORDS];
    }
    let elapsed = started.elapsed();
    std::hint::black_box(at);
    elapsed.as_secs_f64() * 1e9 / TIMED_READS as f64
}

/// One word per line: the line number of the next line of one random
/// cycle through all `lines` lines.
fn random_cycle(lines: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..u32::try_from(lines).expect("lines")).collect();
    let mut rng = Rng::new(SEED, 91);
    for i in (1..lines).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut next = vec![0u32; lines * LINE_WORDS];
    for (i, &line) in order.iter().enumerate() {
        next[line as usize * LINE_WORDS] = order[(i + 1) % lines];
    }
    next
}

#[cfg(test)]
mod tests {
    use super::random_cycle;

    #[test]
    fn the_cycle_visits_every_line_once() {
        let lines = 1000;
        let next = random_cycle(lines);
        let mut seen = vec![false; lines];
        let mut at = 0usize;
        for _ in 0..lines {
            assert!(!seen[at], "line {at} visited twice");
            seen[at] = true;
            at = next[at * super::LINE_WORDS] as usize;
        }
        assert_eq!(at, 0);
        assert!(seen.iter().all(|&s| s));
    }
}
