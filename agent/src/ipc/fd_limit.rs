//! Room in the descriptor table for every connection the budgets allow.
//! systemd starts services with a soft `RLIMIT_NOFILE` of 1024: below the
//! budgets' [`MAX_CONNECTIONS`] plus what serving them opens (a pidfd per
//! root peer, /proc and authorized_keys files, a forwarded ssh-agent). With
//! it, `accept` fails with EMFILE before the system's reserve is reached,
//! and persons holding their connections would keep the system's logins
//! waiting in the backlog. The soft limit is raised towards the hard one;
//! when even that is short, fewer connections are served (persons' share
//! shrinks first, see [`super::budgets::Budgets::with_capacity`]).

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

use super::budgets::MAX_CONNECTIONS;

/// Descriptors one served connection may hold at once.
pub const FDS_PER_CONNECTION: u64 = 4;
/// Descriptors the agent holds besides its connections (the listener,
/// audit and state files, policy sync, pcscd, hidraw devices).
pub const FDS_BESIDES: u64 = 256;

/// The descriptors [`MAX_CONNECTIONS`] need.
pub fn wanted() -> u64 {
    MAX_CONNECTIONS as u64 * FDS_PER_CONNECTION + FDS_BESIDES
}

/// Raises the soft limit to [`wanted`] (at most the hard limit) and returns
/// how many connections fit in the limit there is then.
pub fn raise_for_connections() -> usize {
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let mut have = soft;
    if soft < wanted() {
        let target = wanted().min(hard);
        let raised = Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => have = target,
            Err(e) => eprintln!("mfa-agent: cannot raise the open files limit: {e}"),
        }
    }
    let fit = connections_within(have);
    if fit < MAX_CONNECTIONS {
        eprintln!(
            "mfa-agent: the open files limit ({have}) leaves room for {fit} connections, \
             not {MAX_CONNECTIONS}: set LimitNOFILE={} or more",
            wanted()
        );
    }
    fit
}

/// Connections that fit in `fds` descriptors.
fn connections_within(fds: u64) -> usize {
    let fit = fds.saturating_sub(FDS_BESIDES) / FDS_PER_CONNECTION;
    usize::try_from(fit)
        .unwrap_or(usize::MAX)
        .min(MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_fit_in_the_descriptors_there_are() {
        assert_eq!(connections_within(wanted()), MAX_CONNECTIONS);
        assert_eq!(connections_within(u64::MAX), MAX_CONNECTIONS);
        assert_eq!(connections_within(1024), (1024 - 256) / 4);
        assert_eq!(connections_within(100), 0);
    }
}
