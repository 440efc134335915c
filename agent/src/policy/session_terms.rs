//! What a live session keeps from its start. Teleport's session monitor is
//! configured once, when the session's connection is set up
//! (lib/srv/ctx.go `NewServerContext` builds the `MonitorConfig`): its lock
//! targets (`ComputeLockTargets`), its locking mode (`RoleSet.LockingMode`
//! of the roles then), its idle timeout (`AdjustClientIdleTimeout`) and,
//! under `disconnect_expired_cert`, when its certificate ends it. A role changed, granted or taken away afterwards
//! changes none of these for that session.

use std::time::{Duration, SystemTime};

use super::bundle::Bundle;
use super::locking_mode::is_strict;
use super::resources::{Role, User};

/// A session's terms, fixed when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTerms {
    /// The person's locking mode then was strict: a lock view that is not
    /// known to be current ends the session.
    pub strict: bool,
    /// When its certificate ends it: the certificate's end
    /// (`prev-identity-expires`, else `valid_before`) when
    /// `disconnect_expired_cert` was set then, by the cap or one of the
    /// roles (`AdjustDisconnectExpiredCert`); `None` otherwise.
    pub ends_at: Option<SystemTime>,
    /// How long the session may go without input: the smallest positive
    /// `client_idle_timeout` of the cluster's `cluster_networking_config`
    /// and the roles then (`AdjustClientIdleTimeout`); `None`: none set.
    pub idle_timeout: Option<Duration>,
}

/// The terms of a session of `user` (a bundle's user, or a certificate's
/// identity with its own roles) starting now under `bundle`.
pub fn session_terms(bundle: &Bundle, user: &User, now: SystemTime) -> SessionTerms {
    let roles: Vec<&Role> = user
        .roles
        .iter()
        .filter_map(|name| bundle.roles().get(name))
        .filter(|r| r.expires.is_none_or(|e| e > now))
        .collect();
    let disconnect =
        bundle.cap.disconnect_expired_cert || roles.iter().any(|r| r.disconnect_expired_cert);
    SessionTerms {
        strict: is_strict(bundle, &roles),
        ends_at: user.cert().cert_expires.filter(|_| disconnect),
        // The cluster's, shortened by any role's (never lengthened).
        idle_timeout: roles
            .iter()
            .filter_map(|r| r.client_idle_timeout)
            .chain(bundle.networking.client_idle_timeout)
            .min(),
    }
}
