//! The staleness rules on a store: contact age, locking mode, manifest
//! expiry, on the wall clock and the monotonic one.

use super::*;
use crate::config::AgentConfig;
use crate::policy::load_bundle_str;
use crate::state::{PolicyStore, Provenance};

const STRICT: &str = "kind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec: {locking_mode: strict}\n";
const BEST_EFFORT: &str = "kind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec: {locking_mode: best_effort}\n";

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(s)
}

fn cluster(extra: &str) -> ClusterConfig {
    let text = format!("cluster:\n  source: builtin:example\n  poll_interval: 10s\n{extra}");
    AgentConfig::parse(&text, "t").unwrap().cluster
}

fn store(text: &str, contact: u64) -> PolicyStore {
    let s = PolicyStore::default();
    let b = Arc::new(load_bundle_str(text, "b").unwrap());
    s.install_from(b, Provenance::default(), at(contact), at(contact));
    s
}

#[test]
fn no_policy_then_fresh_then_stale() {
    let c = cluster("  max_staleness: 1h\n");
    assert_eq!(
        judge(&PolicyStore::default().snapshot(), &c, at(0)).unwrap_err(),
        Unusable::NoPolicy
    );
    let s = store(BEST_EFFORT, 1000);
    assert!(judge(&s.snapshot(), &c, at(1000 + 3600)).is_ok());
    let e = judge(&s.snapshot(), &c, at(1000 + 3601)).unwrap_err();
    assert!(
        matches!(e, Unusable::Stale { .. }) && e.follows_fail_mode(),
        "{e}"
    );
    s.record_contact(at(5000));
    assert!(judge(&s.snapshot(), &c, at(5000 + 3600)).is_ok());
}

#[test]
fn a_contact_in_the_future_is_stale_until_the_source_answers() {
    let c = cluster("  max_staleness: 1h\n");
    let s = store(BEST_EFFORT, 10_000);
    // The clock went back two hours since that contact.
    let e = judge(&s.snapshot(), &c, at(10_000 - 7200)).unwrap_err();
    assert!(matches!(e, Unusable::Stale { .. }), "{e}");
    // A second of slack for a clock read in between.
    assert!(judge(&s.snapshot(), &c, at(10_000 - 1)).is_ok());
    s.record_contact(at(2800));
    assert!(judge(&s.snapshot(), &c, at(2800)).is_ok());
}

/// An unsigned NTP answer can step the wall clock back to just after
/// the last contact again and again: the monotonic clock still ages the
/// contact, and the manifest's remaining validity.
#[test]
fn a_wall_clock_stepped_back_does_not_keep_the_policy_fresh() {
    let c = cluster("  max_staleness: 1h\n");
    let s = store(BEST_EFFORT, 1000);
    let snap = s.snapshot();
    let mono = snap.contact_mono.expect("contact on the monotonic clock");
    let f = freshness_at(&snap, &c, at(1060), mono + Duration::from_secs(7200));
    assert!(f.policy_stale && f.lock_view_stale, "{f:?}");
    let f = freshness_at(&snap, &c, at(1060), mono + Duration::from_secs(60));
    assert!(!f.policy_stale && !f.lock_view_stale, "{f:?}");
    install_with_manifest(&s, BEST_EFFORT);
    let snap = s.snapshot();
    let deadline = snap
        .manifest_deadline_mono
        .expect("expiry on the monotonic clock");
    let f = freshness_at(&snap, &c, at(995), deadline + Duration::from_secs(5));
    assert_eq!(f.manifest_expired_for, Some(Duration::from_secs(5)));
    let f = freshness_at(&snap, &c, at(995), deadline);
    assert_eq!(f.manifest_expired_for, None);
}

#[test]
fn zero_max_staleness_means_never() {
    let s = store(BEST_EFFORT, 0);
    assert!(judge(
        &s.snapshot(),
        &cluster("  max_staleness: 0s\n"),
        at(10_000_000)
    )
    .is_ok());
}

#[test]
fn strict_denies_on_a_stale_lock_view_best_effort_decides() {
    let c = cluster("");
    assert_eq!(
        c.lock_view_max_age(),
        Duration::from_secs(300),
        "Teleport's LockMaxStaleness (5m), above 3 × poll_interval"
    );
    assert_eq!(
        AgentConfig::parse(
            "cluster:\n  source: builtin:example\n  poll_interval: 2m\n",
            "t"
        )
        .unwrap()
        .cluster
        .lock_view_max_age(),
        Duration::from_secs(360),
        "3 × poll_interval, above 5m"
    );
    let strict = store(STRICT, 1000);
    assert!(judge(&strict.snapshot(), &c, at(1300)).is_ok());
    let e = judge(&strict.snapshot(), &c, at(1301)).unwrap_err();
    assert!(
        matches!(e, Unusable::LockViewStale { .. }) && !e.follows_fail_mode(),
        "{e}"
    );
    // Strict wins over a stale policy: it denies, never follows fail_mode open.
    let e = judge(&strict.snapshot(), &c, at(1000 + 90_000)).unwrap_err();
    assert!(matches!(e, Unusable::LockViewStale { .. }), "{e}");
    let best = store(BEST_EFFORT, 1000);
    assert!(judge(&best.snapshot(), &c, at(1301)).is_ok());
    let c2 = cluster("  lock_view_max_age: 10m\n");
    assert!(judge(&strict.snapshot(), &c2, at(1600)).is_ok());
    assert!(judge(&strict.snapshot(), &c2, at(1601)).is_err());
    // A role's `options.lock: strict` makes the node strict too
    // (Teleport's RoleSet.LockingMode), even under a best_effort cap.
    let role =
        "---\nkind: role\nversion: v7\nmetadata: {name: r}\nspec: {options: {lock: strict}}\n";
    let by_role = store(&format!("{BEST_EFFORT}{role}"), 1000);
    let e = judge(&by_role.snapshot(), &c, at(1301)).unwrap_err();
    assert!(matches!(e, Unusable::LockViewStale { .. }), "{e}");
    assert_eq!(
        freshness(&by_role.snapshot(), &c, at(1000)).locking_mode,
        "strict"
    );
}

#[test]
fn past_expires_at_the_policy_is_stale_as_without_contact() {
    let c = cluster("  max_staleness: 0s\n");
    for (cap, strict) in [(BEST_EFFORT, false), (STRICT, true)] {
        let s = PolicyStore::default();
        install_with_manifest(&s, cap);
        assert!(judge(&s.snapshot(), &c, at(1000)).is_ok());
        // Contact does not help: only a newer manifest does.
        s.record_contact(at(1005));
        let e = judge(&s.snapshot(), &c, at(1005)).unwrap_err();
        assert_eq!(
            e,
            Unusable::ManifestExpired {
                ago: Duration::from_secs(5),
                strict
            }
        );
        assert_eq!(e.follows_fail_mode(), !strict, "{e}");
        let f = freshness(&s.snapshot(), &c, at(1005));
        assert!(f.policy_stale && f.lock_view_stale);
    }
}

#[test]
fn untracked_bundles_never_go_stale() {
    let s = PolicyStore::default();
    s.install(load_bundle_str(STRICT, "b").unwrap(), at(0));
    assert!(judge(&s.snapshot(), &cluster(""), at(100_000_000)).is_ok());
}

/// Installs `cap`'s bundle into `s` at 990 s, under a manifest issued at
/// 900 s that expires at 1000 s.
fn install_with_manifest(s: &PolicyStore, cap: &str) {
    let b = Arc::new(load_bundle_str(cap, "b").unwrap());
    let manifest = crate::sync::AcceptedManifest {
        source: "prod".into(),
        serial: 1,
        sha256: b.revision.clone(),
        issued_at: at(900),
        expires_at: at(1000),
    };
    let prov = Provenance {
        manifest: Some(manifest),
        ..Provenance::default()
    };
    s.install_from(b, prov, at(990), at(990));
}

/// The session enforcer wakes when the lock view goes stale: just past
/// `lock_view_max_age` on the wall clock, or on the monotonic clock when
/// that is ahead (a wall clock stepped back), or at the manifest's
/// `expires_at`; never when it is stale already or cannot go stale.
#[test]
fn the_lock_view_goes_stale_in_the_time_its_ages_leave() {
    let c = cluster("  max_staleness: 1h\n  lock_view_max_age: 5m\n");
    let stale_at = |s: &PolicyStore, wall: u64, mono_after: u64| {
        let snap = s.snapshot();
        let mono = snap.contact_mono.unwrap() + Duration::from_secs(mono_after);
        let now = at(wall);
        let d = lock_view_stale_in(&snap, &c, now, mono)?;
        let f = |d: Duration| freshness_at(&snap, &c, now + d, mono + d).lock_view_stale;
        assert!(f(d), "stale after {d:?}");
        assert!(!f(d - Duration::from_millis(2)), "fresh just before {d:?}");
        Some(d)
    };
    let ms = |ms: u64| Some(Duration::from_millis(ms));
    let s = store(BEST_EFFORT, 1000);
    assert_eq!(stale_at(&s, 1000, 0), ms(300_001));
    assert_eq!(stale_at(&s, 1100, 100), ms(200_001));
    // The wall clock went back 60 s: the monotonic clock's age decides.
    assert_eq!(stale_at(&s, 1040, 100), ms(200_001));
    assert_eq!(stale_at(&s, 1301, 301), None, "stale already");
    let s = PolicyStore::default();
    s.install(load_bundle_str(STRICT, "b").unwrap(), at(0));
    assert_eq!(
        lock_view_stale_in(&s.snapshot(), &c, at(10), Instant::now()),
        None,
        "untracked"
    );
    // A manifest that expires at 1000 s, contact at 990 s.
    let s = PolicyStore::default();
    install_with_manifest(&s, STRICT);
    let snap = s.snapshot();
    let mono = snap.contact_mono.unwrap();
    // (Its monotonic deadline and the contact's are read a moment apart.)
    let d = lock_view_stale_in(&snap, &c, at(990), mono).unwrap();
    let (a, b) = (ms(10_000).unwrap(), ms(10_001).unwrap());
    assert!(a < d && d <= b, "the manifest's end: {d:?}");
}
