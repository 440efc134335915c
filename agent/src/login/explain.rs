//! `mfactl explain`: the decision for a login, in words.

use std::time::SystemTime;

use pam_mfa_protocol::{ExplainQuery, Explanation};

use crate::config::ServiceMap;
use crate::policy::ServiceClass;
use crate::policy::{decide, Access, Bundle, LoginQuery, NodeInfo};

/// Explains the policy decision for `q` on `node`. The same `decide` the
/// agent uses for logins, with its view of the locks (`lock_view_stale`:
/// a strict person is then denied); evidence (keys, taps) is not part of it.
pub fn explain(
    bundle: &Bundle,
    node: &NodeInfo,
    services: &ServiceMap,
    q: &ExplainQuery,
    now: SystemTime,
    lock_view_stale: bool,
) -> Explanation {
    let service = q.service.clone().unwrap_or_else(|| "sshd".into());
    let mut reasons = Vec::new();
    let class = services.class_of(&service).unwrap_or_else(|| {
        reasons.push(format!(
            "PAM service '{service}' is not in the service map; admin rules apply"
        ));
        ServiceClass::Admin
    });
    let query = LoginQuery {
        node,
        login: &q.login,
        user: q.user.as_deref(),
        class,
        mfa_device: None,
        now,
        lock_view_stale,
    };
    let d = decide(bundle, &query);
    reasons.extend(d.reasons.iter().cloned());
    Explanation {
        access: if d.access == Access::Allow {
            "allow"
        } else {
            "deny"
        }
        .into(),
        mfa: d.requirement.name().into(),
        user: d.user.clone(),
        candidates: d.candidates.clone(),
        locked_candidates: d.locked_candidates.clone(),
        roles: d.roles.clone(),
        locked: d.locked,
        reasons,
        node: node.name.clone(),
        login: q.login.clone(),
        service,
        class: class.name().into(),
        policy_revision: bundle.revision.clone(),
    }
}
