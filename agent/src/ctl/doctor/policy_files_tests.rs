//! `agent.policy_files_refused`: a `file://` source whose files are
//! refused while a policy is in force.

use super::tests::good;
use super::{check_host, Severity};

/// A file source refused under a policy in force: a warning (a restart
/// starts from the last known good copy), an error when that copy could
/// not be saved (a restart leaves no policy).
#[test]
fn refused_policy_files_warn_and_a_lost_policy_is_an_error() {
    for (lost, severity) in [(false, Severity::Warning), (true, Severity::Error)] {
        let mut f = good();
        if let Some(Ok(s)) = &mut f.agent_status {
            s.last_error = Some("/etc/pam-mfa/policy.d/b.yaml:1:2: bad".into());
            s.sync.lost_at_restart = lost;
        }
        let found = check_host(&f);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, "agent.policy_files_refused");
        assert_eq!(found[0].severity, severity);
        assert!(found[0].what.contains("b.yaml:1:2"), "{}", found[0].what);
    }
}
