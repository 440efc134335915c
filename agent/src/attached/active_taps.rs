//! Taps on attached keys running at once: each holds a thread blocked on a
//! card or a key, so they are capped for the host and, within that, per
//! person (DESIGN.md: no local user can starve others, counted per
//! invoking person). A local user may start taps for themselves (any
//! desktop service name will do); without a share of their own they could
//! hold every slot and leave the person at the desk unable to unlock the
//! screen or use sudo.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Taps on attached keys running at once, at most.
pub const MAX_ACTIVE_TAPS: usize = 8;
/// Of those, what one person may hold at once: a login and a retry.
pub const PER_PERSON_TAPS: usize = 2;

/// Whom a running tap counts against: the invoking person, as the login
/// flow tells it (a local user by uid, else a login name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TapOwner {
    Uid(u32),
    Name(String),
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_owner: HashMap<TapOwner, usize>,
}

/// The running taps, counted.
#[derive(Clone, Default)]
pub struct ActiveTaps(Arc<Mutex<Counts>>);

impl ActiveTaps {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for one running tap of `owner`, or the refusal the person
    /// reads: their own share spent, or the host's.
    pub fn slot(&self, owner: &TapOwner) -> Result<ActiveTap, String> {
        let mut c = self.lock();
        let mine = c.per_owner.get(owner).copied().unwrap_or(0);
        if mine >= PER_PERSON_TAPS {
            return Err(format!(
                "you already have {mine} taps running on keys attached to this host; finish or cancel one first"
            ));
        }
        if c.total >= MAX_ACTIVE_TAPS {
            return Err("too many taps on attached keys are running; try again".into());
        }
        c.total += 1;
        *c.per_owner.entry(owner.clone()).or_insert(0) += 1;
        Ok(ActiveTap {
            taps: self.clone(),
            owner: owner.clone(),
        })
    }

    /// Taps running now, of `owner` and in all.
    pub fn running(&self, owner: &TapOwner) -> (usize, usize) {
        let c = self.lock();
        (c.per_owner.get(owner).copied().unwrap_or(0), c.total)
    }
}

/// Held by a running tap's thread; frees its slot when dropped.
pub struct ActiveTap {
    taps: ActiveTaps,
    owner: TapOwner,
}

impl Drop for ActiveTap {
    fn drop(&mut self) {
        let mut c = self.taps.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_owner.get_mut(&self.owner) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_owner.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_holds_at_most_their_share_and_the_host_at_most_its_cap() {
        let taps = ActiveTaps::default();
        let jerry = TapOwner::Uid(1001);
        let held: Vec<_> = (0..PER_PERSON_TAPS)
            .map(|_| taps.slot(&jerry).unwrap())
            .collect();
        let why = taps.slot(&jerry).err().unwrap();
        assert!(
            why.starts_with(&format!("you already have {PER_PERSON_TAPS} taps running")),
            "{why}"
        );
        // Others keep theirs, up to the host's cap.
        let mut others = Vec::new();
        for uid in 2000.. {
            match taps.slot(&TapOwner::Uid(uid)) {
                Ok(s) => others.push(s),
                Err(why) => {
                    assert!(why.starts_with("too many taps"), "{why}");
                    break;
                }
            }
        }
        assert_eq!(held.len() + others.len(), MAX_ACTIVE_TAPS);
        drop(held);
        assert_eq!(taps.running(&jerry), (0, MAX_ACTIVE_TAPS - PER_PERSON_TAPS));
        assert!(taps.slot(&jerry).is_ok(), "released slots are free again");
    }
}
