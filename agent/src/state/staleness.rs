//! Whether the installed policy may decide a login: it must exist, the
//! source must have been reached within `cluster.max_staleness`, and with the
//! cap's `locking_mode: strict` within `cluster.lock_view_max_age`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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
    freshness_at(snap, cluster, now, Instant::now())
}

/// [`freshness`] with the monotonic clock's `mono_now` as well: an age is
/// the larger of the wall clock's and the monotonic clock's, and the
/// manifest has expired when either says so, so a wall clock stepped back
/// (an NTP answer nobody signs) does not keep a policy fresh.
pub fn freshness_at(
    snap: &StoreSnapshot,
    cluster: &ClusterConfig,
    now: SystemTime,
    mono_now: Instant,
) -> Freshness {
    // A contact in the future (the clock went back, or a cache file says so)
    // proves nothing about now: stale until the source answers again.
    let since_contact = snap.last_contact.map(|c| {
        let wall = match now.duration_since(c) {
            Ok(age) => age,
            Err(ahead) if ahead.duration() <= CLOCK_SLACK => Duration::ZERO,
            Err(_) => Duration::MAX,
        };
        let mono = snap
            .contact_mono
            .map_or(Duration::ZERO, |m| mono_now.saturating_duration_since(m));
        wall.max(mono)
    });
    let over = |max: Duration| since_contact.is_some_and(|a| a > max);
    // Past the signed expires_at, the policy is stale as if the source had
    // not been reached (whatever max_staleness says).
    let manifest_expired_for = snap
        .current
        .as_ref()
        .and(snap.provenance.manifest.as_ref())
        .map(|m| {
            let wall = now.duration_since(m.expires_at).unwrap_or_default();
            let mono = snap
                .manifest_deadline_mono
                .map_or(Duration::ZERO, |d| mono_now.saturating_duration_since(d));
            wall.max(mono)
        })
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

/// Staleness begins once an age is past its limit, not at it: a wake-up
/// for it comes this long after the limit.
const JUST_PAST: Duration = Duration::from_millis(1);

/// How long until the lock view goes stale by time alone (the
/// `lock_view_stale` of [`freshness_at`] at `now + d`, `mono_now + d`):
/// the earliest of the contact's age on either clock passing
/// `lock_view_max_age` and the manifest's `expires_at` on either clock.
/// `None` when it is stale already, or nothing would make it so (no
/// contact tracked, no manifest). The session enforcer wakes then, as
/// Teleport's lock watcher reports `OpUnreliable` when its view goes
/// stale (lib/services/watcher.go `lockCollector.notifyStale`) rather
/// than at a later poll.
pub fn lock_view_stale_in(
    snap: &StoreSnapshot,
    cluster: &ClusterConfig,
    now: SystemTime,
    mono_now: Instant,
) -> Option<Duration> {
    if freshness_at(snap, cluster, now, mono_now).lock_view_stale {
        return None;
    }
    let max = cluster.lock_view_max_age();
    let mut untils = Vec::with_capacity(4);
    if let Some(contact) = snap.last_contact {
        // A contact a little ahead (within CLOCK_SLACK) counts as age 0:
        // this wakes early, never late.
        untils.push(max.saturating_sub(now.duration_since(contact).unwrap_or_default()));
        if let Some(mono) = snap.contact_mono {
            untils.push(max.saturating_sub(mono_now.saturating_duration_since(mono)));
        }
    }
    if let Some(manifest) = snap.current.as_ref().and(snap.provenance.manifest.as_ref()) {
        untils.push(manifest.expires_at.duration_since(now).unwrap_or_default());
        if let Some(deadline) = snap.manifest_deadline_mono {
            untils.push(deadline.saturating_duration_since(mono_now));
        }
    }
    untils.into_iter().min().map(|d| d + JUST_PAST)
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

    /// [`lock_view_stale_in`] on the store now, by the injected clock.
    pub fn lock_view_stale_in(&self) -> Option<Duration> {
        let snap = self.store.snapshot();
        lock_view_stale_in(&snap, &self.config.cluster, self.now(), Instant::now())
    }

    pub fn freshness(&self) -> Freshness {
        freshness(&self.store.snapshot(), &self.config.cluster, self.now())
    }
}

#[cfg(test)]
#[path = "staleness_tests.rs"]
mod tests;
