use std::time::{Duration, Instant};

/// Polls `cond` every `every` until it holds or `deadline` passes. Returns whether
/// it held.
pub fn wait_until(deadline: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(every);
    }
}
