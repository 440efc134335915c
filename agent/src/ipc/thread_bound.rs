//! How many accepting and serving threads the agent may run at once, all
//! listeners together. Every such thread waits in `accept` or serves one
//! connection, and every served connection holds one of the budgets'
//! connections (`super::budgets`): so the agent never needs more threads
//! than the connections its open files limit leaves room for (the
//! budgets' capacity, `super::fd_limit`) plus the threads kept waiting in
//! `accept` and as many again for root peers between `accept` and their
//! budget check. No flood of connections makes it start more: the
//! connection that would need one more is refused at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Threads a capacity of `connections` needs at most, with `keep_idle`
/// threads waiting in `accept` and as many more on their way to a
/// connection's budget check.
pub(super) fn threads_for(connections: usize, keep_idle: usize) -> usize {
    connections.saturating_add(keep_idle.saturating_mul(2))
}

/// The threads running, and how many may.
pub(super) struct ThreadBound {
    running: AtomicUsize,
    max: usize,
}

/// One running thread; released on drop (also when the thread unwinds).
pub(super) struct ThreadToken(Arc<ThreadBound>);

impl ThreadBound {
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(ThreadBound {
            running: AtomicUsize::new(0),
            max,
        })
    }

    /// Room for one more thread, or `None` when [`ThreadBound::max`] run.
    pub(super) fn try_take(self: &Arc<Self>) -> Option<ThreadToken> {
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| ThreadToken(Arc::clone(self)))
    }

    pub(super) fn max(&self) -> usize {
        self.max
    }

    #[cfg(test)]
    pub(super) fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }
}

impl Drop for ThreadToken {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_threads_than_the_bound_and_released_ones_are_free_again() {
        let bound = ThreadBound::new(3);
        let held: Vec<_> = (0..3).map(|_| bound.try_take().unwrap()).collect();
        assert!(bound.try_take().is_none(), "a fourth thread was allowed");
        assert_eq!(bound.running(), 3);
        drop(held);
        assert_eq!(bound.running(), 0);
        assert!(bound.try_take().is_some());
    }

    #[test]
    fn the_bound_follows_the_connections_the_budgets_serve() {
        assert_eq!(threads_for(1280, 4), 1288);
        assert_eq!(threads_for(usize::MAX, 4), usize::MAX);
    }
}
