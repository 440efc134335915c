//! `mfactl explain`: the decision for a login, in words.

use std::time::SystemTime;

use pam_mfa_protocol::{ExplainQuery, Explanation};

use crate::config::ServiceMap;
use crate::policy::{decide, Access, Bundle, Decision, LoginQuery, NodeInfo};
use crate::policy::{KeyPolicy, ServiceClass};

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
    reasons.extend(no_device_note(bundle, &d, class));
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

/// An allowed login that needs MFA, for a user with no device in the
/// policy: `decide` leaves evidence out, so "allow" alone would read as if
/// the login will pass. Only a tap on a registered key answers outside SSH
/// (login/pipeline.rs); over SSH a Teleport certificate with `mfa-verified`
/// can too.
fn no_device_note(bundle: &Bundle, d: &Decision, class: ServiceClass) -> Option<String> {
    let user = d.user.as_deref()?;
    if d.access != Access::Allow
        || d.requirement.is_off()
        || !bundle.devices_for_user(user).is_empty()
    {
        return None;
    }
    let then = match class {
        ServiceClass::Ssh if d.requirement.key_policy != KeyPolicy::None => {
            "only a Teleport certificate whose private-key-policy meets it satisfies it"
        }
        ServiceClass::Ssh => {
            "only a Teleport certificate that shows the MFA check (mfa-verified) satisfies it"
        }
        _ => "this login is refused",
    };
    Some(format!(
        "{user} has no registered device (mfa_device) in this policy: no tap can answer the {} requirement, and until one is added (`mfactl enroll`) {then}",
        d.requirement.name()
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::load_bundle_str;

    fn sudo_on_prod3(bundle: &Bundle) -> Explanation {
        let node = NodeInfo {
            name: "prod3".into(),
            id: None,
            labels: [("env".to_string(), "prod".to_string())].into(),
        };
        let q = ExplainQuery {
            login: "jerry".into(),
            user: None,
            service: Some("sudo".into()),
        };
        let services = ServiceMap::new(&BTreeMap::new()).unwrap();
        explain(bundle, &node, &services, &q, SystemTime::now(), false)
    }

    /// README's step: `mfactl explain --login jerry --service sudo` with
    /// the example policy says allow, and that jerry has no key to tap.
    #[test]
    fn an_allowed_login_that_needs_a_tap_says_when_the_user_has_no_device() {
        let example = crate::state::BUILTIN_EXAMPLE;
        let e = sudo_on_prod3(&load_bundle_str(example, "example").unwrap());
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        assert!(
            e.reasons
                .iter()
                .any(|r| r.starts_with("jerry has no registered device")),
            "{:?}",
            e.reasons
        );
        let device = "---\nkind: mfa_device\nversion: v1\nmetadata: {name: jerry-key}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIC0F/LJRSd23qXKZ9xHqOm9z6D8ciF5N9g+7iIaEJfEkAAAABHNzaDo= jerry@laptop\"\n";
        let e = sudo_on_prod3(&load_bundle_str(&format!("{example}{device}"), "example").unwrap());
        assert_eq!(e.access, "allow");
        assert!(
            !e.reasons.iter().any(|r| r.contains("no registered device")),
            "{:?}",
            e.reasons
        );
    }
}
