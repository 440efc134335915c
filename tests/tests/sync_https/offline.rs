//! Deciding without the source: the last-known-good cache after a restart
//! offline (a tampered cache refused), past `max_staleness`, and strict
//! locking on a stale lock view.

use std::time::Duration;

use super::common::*;
use super::world::*;
use pam_mfa_e2e::require_root;

#[test]
fn restarted_offline_the_cache_decides_and_a_tampered_cache_is_refused() {
    require_root!();
    let mut w = world(
        "sync-cache",
        |u| content(&allowing(u).to_yaml(), "\"c1\""),
        "  max_staleness: 1h\n",
    );
    let good = w.revision();
    assert!(!good.is_empty(), "{}", w.evidence());
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let cache = w.work.join("state/last-known-good.json");
    let m = std::fs::metadata(&cache).expect("the cache file exists");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(m.mode() & 0o777, 0o600, "cache file mode");
    assert_eq!(
        std::fs::metadata(w.work.join("state")).unwrap().mode() & 0o777,
        0o700
    );

    // Offline restart: the same decision, from the cache.
    w.server.set_up(false);
    w.agent.stop();
    w.agent.spawn();
    let s = w.status();
    assert_eq!(
        s["policy_revision"],
        good.as_str(),
        "{s:#}\n{}",
        w.evidence()
    );
    assert_eq!(s["sync"]["from_cache"], true, "{s:#}");
    let text = w.agent.mfactl(&["status"]).stdout;
    assert!(text.contains("from cache:      yes"), "{text}");
    assert!(w.sudo_allowed(), "{}", w.evidence());
    // It keeps trying, and says why it fails.
    w.wait_status("a pull error", Duration::from_secs(5), |s| {
        s["last_error"].as_str().is_some_and(|e| !e.is_empty())
    });

    // The source comes back with the same ETag: a 304 confirms the cached copy.
    let before = w.server.counts().not_modified;
    w.server.set_up(true);
    w.wait_status("confirmed by the source", Duration::from_secs(8), |s| {
        s["sync"]["from_cache"] == false
    });
    assert!(w.server.counts().not_modified > before, "{}", w.evidence());

    // Tampered (the user's role list edited in the cached bundle): refused at
    // start with a clear error; with the source down nothing is loaded.
    w.server.set_up(false);
    w.agent.stop();
    let text = std::fs::read_to_string(&cache).unwrap();
    let edited = text.replacen("access-prod", "access-pwnd", 1);
    assert_ne!(text, edited);
    std::fs::write(&cache, edited).unwrap();
    w.agent.spawn();
    let s = w.status();
    assert_eq!(s["policy_revision"], "", "{s:#}");
    let ce = s["sync"]["cache_error"].as_str().unwrap_or("");
    assert!(ce.contains("tampered"), "{ce}\n{}", w.evidence());
    assert!(
        w.agent.log().contains("last known good refused"),
        "{}",
        w.agent.log()
    );
    assert!(!w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn past_max_staleness_the_fail_mode_applies() {
    require_root!();
    let w = world(
        "sync-stale",
        |u| content(&allowing(u).to_yaml(), "\"s\""),
        "  max_staleness: 3s\n",
    );
    assert!(w.sudo_allowed(), "{}", w.evidence());
    w.server.set_up(false);
    w.wait_status("stale", Duration::from_secs(10), |s| {
        s["sync"]["policy_stale"] == true
    });
    assert!(
        !w.sudo_allowed(),
        "a stale policy must not decide:\n{}",
        w.evidence()
    );
    let login = w.user.name.clone();
    let e = w
        .agent
        .wait_audit(Duration::from_secs(5), |e| {
            field(e, "login") == login && field(e, "reason").contains("policy stale")
        })
        .unwrap_or_else(|| panic!("no stale-policy decision:\n{}", w.evidence()));
    assert_eq!(field(&e, "result"), "deny");
    // Back in contact: fresh again.
    w.server.set_up(true);
    w.wait_status("fresh", Duration::from_secs(10), |s| {
        s["sync"]["policy_stale"] == false
    });
    assert!(w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn strict_locking_denies_on_a_stale_lock_view_and_best_effort_decides() {
    require_root!();
    for (mode, allowed_when_stale) in [("strict", false), ("best_effort", true)] {
        let w = world(
            &format!("sync-{mode}"),
            |u| content(&with_locking_mode(u, mode).to_yaml(), "\"m\""),
            "  lock_view_max_age: 2s\n  max_staleness: 1h\n",
        );
        assert!(w.sudo_allowed(), "{mode}:\n{}", w.evidence());
        let s = w.status();
        assert_eq!(s["sync"]["locking_mode"], mode, "{s:#}");
        w.server.set_up(false);
        w.wait_status("lock view stale", Duration::from_secs(10), |s| {
            s["sync"]["lock_view_stale"] == true
        });
        assert_eq!(
            w.sudo_allowed(),
            allowed_when_stale,
            "{mode}:\n{}",
            w.evidence()
        );
        if mode == "strict" {
            let s = w.status();
            assert!(
                s["sync"]["policy_state"]
                    .as_str()
                    .unwrap_or("")
                    .contains("lock view stale"),
                "{s:#}"
            );
            let f = w.agent.mfactl(&["explain", "--login", &w.user.name]);
            assert!(
                f.stdout.contains("lock view stale"),
                "mfactl explain: {}{}",
                f.stdout,
                f.stderr
            );
        }
    }
}
