//! Strict locking and an outage: Teleport's session monitor ends a session
//! whose locking mode is strict once its lock watcher's view is older than
//! `LockMaxStaleness` (lib/services/watcher.go `lockCollector.notifyStale`
//! → lib/srv/monitor.go `Monitor.start`, `LockingModeStrict`); here, once
//! no pull has confirmed the locks for `cluster.lock_view_max_age`.

use std::thread;
use std::time::{Duration, Instant};

use super::common::field;
use super::world::*;
use pam_mfa_e2e::require_root;

/// The agent's `cluster.lock_view_max_age` in this test.
const LOCK_VIEW_MAX_AGE: Duration = Duration::from_secs(4);

#[test]
fn a_strict_session_ends_once_the_lock_view_goes_stale_and_not_before() {
    require_root!();
    let w = start_strict_over_https("sessions-strict-stale", LOCK_VIEW_MAX_AGE);
    let server = w.server.as_ref().expect("served over HTTPS");
    thread::scope(|scope| {
        let client = scope.spawn(|| {
            let out = w.ssh("sleep 300", Duration::from_secs(90));
            (out, Instant::now())
        });
        let s = w.wait_listed();
        assert_session_fields(&w, &s);
        // While the source answers, the view stays fresh past its maximum
        // age: the session goes on.
        thread::sleep(LOCK_VIEW_MAX_AGE + POLL + END_MARGIN);
        assert!(
            !client.is_finished(),
            "a strict session ended while its locks were confirmed\n{}",
            w.post_mortem()
        );
        let down = Instant::now();
        server.set_up(false);
        let (out, exited) = client.join().expect("ssh thread");
        let took = exited.duration_since(down);
        eprintln!(
            "SESSIONS-FIGURE source down -> strict session ended: {} ms",
            took.as_millis()
        );
        assert!(!out.success(), "{}", out.describe());
        // The last confirmation came about a poll before the source went
        // down (a late pull on a busy machine: two); the session's check
        // runs every second.
        assert!(
            took + 2 * POLL >= LOCK_VIEW_MAX_AGE,
            "ended {took:?} after the source went down, before the view was stale"
        );
        assert!(
            took < LOCK_VIEW_MAX_AGE + POLL + END_MARGIN + Duration::from_secs(2),
            "the session outlived its stale lock view by {took:?}\n{}",
            w.post_mortem()
        );
    });
    let ended = wait_event(&w, "session_ended");
    assert!(
        field(&ended, "reason").contains("cannot be confirmed"),
        "{ended}"
    );
    // New logins read the same view: refused while it is stale.
    let again = w.ssh("true", Duration::from_secs(20));
    assert_eq!(again.exit_code(), Some(255), "{}", again.describe());
    server.set_up(true);
}
