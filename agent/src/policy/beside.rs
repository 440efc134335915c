//! Two pieces of a large load's work at once, on both cores.

/// Runs `other` on a second thread while this one runs `this`, when the
/// work is `large` (else one after the other, here; also when no thread
/// can start). A panic on the second thread goes on here.
pub(super) fn beside<A: Send, B>(
    large: bool,
    other: impl FnOnce() -> A + Send,
    this: impl FnOnce() -> B,
) -> (A, B) {
    if !large {
        return (other(), this());
    }
    let slot = std::sync::Mutex::new(Some(other));
    let take = || slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("policy-load-3".into())
            .spawn_scoped(s, || take().map(|f| f()));
        let b = this();
        let a = match spawned {
            Ok(h) => h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => None,
        };
        let a = a.or_else(|| take().map(|f| f())).expect("run once");
        (a, b)
    })
}
