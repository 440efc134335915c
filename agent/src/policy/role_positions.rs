//! Each user's roles as positions in the bundle's roles, found once when
//! the bundle is made: a decision reads its user's roles without hashing
//! and comparing every role name again (on a large bundle each of those is
//! a few cache misses).

use super::by_name::{position, ByName};
use super::prefetch::prefetch;
use super::resources::{Role, User};

/// A role the bundle does not hold.
const MISSING: u32 = u32::MAX;

/// Per user (in name order), the position of each of their roles (as
/// written), or [`MISSING`].
#[derive(Clone, Default)]
pub(crate) struct RolePositions {
    /// User `u`'s roles are `positions[starts[u]..starts[u + 1]]`.
    starts: Box<[u32]>,
    positions: Box<[u32]>,
}

impl RolePositions {
    pub(crate) fn build(roles: &ByName<Role>, users: &ByName<User>) -> RolePositions {
        let mut starts = Vec::with_capacity(users.len() + 1);
        let mut positions = Vec::new();
        for user in users.values() {
            starts.push(position(positions.len()));
            positions.extend(
                user.roles
                    .iter()
                    .map(|name| roles.position(name).unwrap_or(MISSING)),
            );
        }
        starts.push(position(positions.len()));
        RolePositions {
            starts: starts.into_boxed_slice(),
            positions: positions.into_boxed_slice(),
        }
    }

    /// Asks the CPU for the line of where user `u`'s roles start.
    pub(crate) fn prefetch_start(&self, u: u32) {
        if let Some(start) = self.starts.get(u as usize) {
            prefetch(start);
        }
    }

    /// Asks the CPU for the line of user `u`'s roles (reading where they
    /// start: best [`RolePositions::prefetch_start`]ed before).
    pub(crate) fn prefetch_positions(&self, u: u32) {
        let first = self.starts.get(u as usize);
        if let Some(p) = first.and_then(|&a| self.positions.get(a as usize)) {
            prefetch(p);
        }
    }

    /// User `u`'s roles, as written: `Some(position)`, or `None` for a
    /// role the bundle does not hold.
    pub(crate) fn of(&self, u: u32) -> impl Iterator<Item = Option<u32>> + '_ {
        let u = u as usize;
        let range = match (self.starts.get(u), self.starts.get(u + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        };
        self.positions[range]
            .iter()
            .map(|&p| (p != MISSING).then_some(p))
    }
}
