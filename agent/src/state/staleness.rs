//! Whether the installed policy may decide a login: it must exist, the
//! source must have been reached within `cluster.max_staleness`, and with the
//! cap's `locking_mode: strict` within `cluster.lock_view_max_age`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::agent_state::AgentState;
use super::policy_store::StoreSnapshot;
use crate::config::ClusterConfig;
use crate::policy::Bundle;

/// Why the policy cannot decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// No bundle was ever loaded: the agent's fail mode applies.
    NoPolicy,
    /// The source was not reached for longer than `max_staleness`: the
    /// policy counts as unknown, the fail mode applies.
    Stale { age: Duration, max: Duration },
    /// `locking_mode: strict` and the lock view is older than
    /// `lock_view_max_age`: the login is denied whatever the fail mode
    /// (Teleport's strict mode).
    LockViewStale { age: Duration, max: Duration },
    /// Manifest mode: the signed manifest of the policy in force expired
    /// `ago`: stale as with no contact (`strict`: denied, else the fail mode).
    ManifestExpired { ago: Duration, strict: bool },
}

impl Unusable {
    /// True when the agent's fail mode decides; false when the login is denied.
    pub fn follows_fail_mode(&self) -> bool {
        !matches!(
            self,
            Unusable::LockViewStale { .. } | Unusable::ManifestExpired { strict: true, .. }
        )
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NoPolicy => write!(f, "no policy loaded"),
            Unusable::Stale { age, max } => write!(
                f,
                "policy stale: no contact with the source for {}s (cluster.max_staleness {}s)",
                age.as_secs(),
                max.as_secs()
            ),
            Unusable::LockViewStale { age, max } => write!(
                f,
                "lock view stale: no contact with the source for {}s (cluster.lock_view_max_age {}s, locking_mode strict)",
                age.as_secs(),
                max.as_secs()
            ),
            Unusable::ManifestExpired { ago, strict } => write!(
                f,
                "policy stale: its signed manifest expired {}s ago (expires_at){}",
                ago.as_secs(),
                if *strict {
                    "; denied (locking_mode strict)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// How old the view of the source is, and what that means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// Time since the last successful contact (None: never, or not tracked).
    pub since_contact: Option<Duration>,
    pub policy_stale: bool,
    pub lock_view_stale: bool,
    /// The installed bundle's locking mode (`Bundle::locking_mode`: the
    /// cap's, or `strict` when a role's `options.lock` is; empty: none).
    pub locking_mode: String,
    /// Manifest mode: how long ago the manifest of the policy in force expired.
    pub manifest_expired_for: Option<Duration>,
}

/// How far in the future a contact may be and still count as just now.
const CLOCK_SLACK: Duration = Duration::from_secs(1);

pub fn freshness(snap: &StoreSnapshot, cluster: &ClusterConfig, now: SystemTime) -> Freshness {
    // A contact in the future (the clock went back, or a cache file says so)
    // proves nothing about now: stale until the source answers again.
    let since_contact = snap.last_contact.map(|c| match now.duration_since(c) {
        Ok(age) => age,
        Err(ahead) if ahead.duration() <= CLOCK_SLACK => Duration::ZERO,
        Err(_) => Duration::MAX,
    });
    let over = |max: Duration| since_contact.is_some_and(|a| a > max);
    // Past the signed expires_at, the policy is stale as if the source had
    // not been reached (whatever max_staleness says).
    let manifest_expired_for = snap
        .current
        .as_ref()
        .and(snap.provenance.manifest.as_ref())
        .and_then(|m| now.duration_since(m.expires_at).ok())
        .filter(|past| !past.is_zero());
    let expired = manifest_expired_for.is_some();
    Freshness {
        since_contact,
        manifest_expired_for,
        policy_stale: expired || (!cluster.max_staleness.is_zero() && over(cluster.max_staleness)),
        lock_view_stale: expired || over(cluster.lock_view_max_age()),
        locking_mode: snap
            .current
            .as_ref()
            .map(|b| b.locking_mode().to_owned())
            .unwrap_or_default(),
    }
}

/// The rules, on a snapshot: see [`AgentState::policy_for_decision`].
pub fn judge(
    snap: &StoreSnapshot,
    cluster: &ClusterConfig,
    now: SystemTime,
) -> Result<Arc<Bundle>, Unusable> {
    judge_with(snap, cluster, now, false)
}

/// `judge`; with `per_login`, a stale lock view alone does not make the
/// policy unusable: each login's own locking mode decides (the caller sets
/// `LoginQuery::lock_view_stale`).
fn judge_with(
    snap: &StoreSnapshot,
    cluster: &ClusterConfig,
    now: SystemTime,
    per_login: bool,
) -> Result<Arc<Bundle>, Unusable> {
    let Some(bundle) = snap.current.clone() else {
        return Err(Unusable::NoPolicy);
    };
    let f = freshness(snap, cluster, now);
    if let Some(ago) = f.manifest_expired_for {
        return Err(Unusable::ManifestExpired {
            ago,
            strict: f.locking_mode == "strict",
        });
    }
    let age = f.since_contact.unwrap_or_default();
    // Per login, a stale lock view alone is the decision's to judge; a
    // stale policy under a strict bundle is still refused whole.
    let bundle_judges = !per_login || f.policy_stale;
    if bundle_judges && f.locking_mode == "strict" && f.lock_view_stale {
        return Err(Unusable::LockViewStale {
            age,
            max: cluster.lock_view_max_age(),
        });
    }
    if f.policy_stale {
        return Err(Unusable::Stale {
            age,
            max: cluster.max_staleness,
        });
    }
    Ok(bundle)
}

impl AgentState {
    /// The policy judged as a whole (every person strict on a stale lock
    /// view), or why there is none usable; logins are judged per person
    /// ([`AgentState::policy_for_login`]). Ages come from the injected clock.
    #[cfg(test)]
    pub fn policy_for_decision(&self) -> Result<Arc<Bundle>, Unusable> {
        judge(&self.store.snapshot(), &self.config.cluster, self.now())
    }

    /// The policy to decide one login with, when its own locking mode is
    /// to judge a stale lock view (Teleport's `RoleSet.LockingMode`: the
    /// cap's `locking_mode` unless the person's roles say otherwise): as
    /// [`AgentState::policy_for_decision`], but a stale lock view within
    /// `max_staleness` is left to `policy::decide` (see
    /// [`AgentState::lock_view_stale`]).
    pub fn policy_for_login(&self) -> Result<Arc<Bundle>, Unusable> {
        judge_with(
            &self.store.snapshot(),
            &self.config.cluster,
            self.now(),
            true,
        )
    }

    /// Whether the view of the cluster's locks is older than
    /// `cluster.lock_view_max_age` (for `LoginQuery::lock_view_stale`).
    pub fn lock_view_stale(&self) -> bool {
        self.freshness().lock_view_stale
    }

    pub fn freshness(&self) -> Freshness {
        freshness(&self.store.snapshot(), &self.config.cluster, self.now())
    }
}

#[cfg(test)]
mod tests {
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
}
