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
    reasons.extend(nobody_can_tap_note(bundle, &d, class, &q.login));
    reasons.extend(crate::policy::unjudged_node_locks(
        bundle.locks(),
        &node.name,
        node.id.as_deref(),
        now,
    ));
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
        // A `hardware_key` key is no MFA (Teleport's
        // `PrivateKeyPolicy.MFAVerified`: a touch or a PIN policy is).
        ServiceClass::Ssh
            if d.requirement.session && d.requirement.key_policy == KeyPolicy::HardwareKey =>
        {
            "only a Teleport certificate whose private-key-policy meets it and that shows MFA (mfa-verified, or a touch or PIN key policy) satisfies it"
        }
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

/// How the reason [`nobody_can_tap_note`] gives begins (`mfactl explain`
/// shows it beside the access too).
pub const NOBODY_CAN_TAP: &str = "nobody can tap for this login";

/// The reason saying an allowed login is refused all the same because
/// nobody can tap for it ([`nobody_can_tap_note`]), when `e` has one
/// (`mfactl explain` shows it beside the access; `mfactl doctor` reports
/// it for root and the NOPASSWD accounts).
pub fn nobody_can_tap(e: &Explanation) -> Option<&str> {
    if e.access != "allow" {
        return None;
    }
    e.reasons
        .iter()
        .find(|r| r.starts_with(NOBODY_CAN_TAP))
        .map(String::as_str)
}

/// An allowed login that needs MFA but is not one cluster user's: with
/// nobody it maps to (or a user the bundle does not know), or none of the
/// users it may be holding a registered device, no tap can answer the
/// challenge, and the login is refused (login/ask.rs `candidates_tap`)
/// although `decide` says "allow". Over SSH a Teleport certificate names
/// its person, and the login is then decided for them.
fn nobody_can_tap_note(
    bundle: &Bundle,
    d: &Decision,
    class: ServiceClass,
    login: &str,
) -> Option<String> {
    if d.user.is_some() || d.access != Access::Allow || d.requirement.is_off() {
        return None;
    }
    let unless = match class {
        ServiceClass::Ssh => {
            " unless a Teleport certificate names the person (and meets the requirement)"
        }
        _ => "",
    };
    let req = d.requirement.name();
    if !d.known_user || d.candidates.is_empty() {
        return Some(format!(
            "{NOBODY_CAN_TAP}: login {login} is not a cluster user's, so no registered device can answer the {req} requirement and the login will be refused{unless} (give the login to a cluster user: their traits.logins, or a role's allow.logins for them)"
        ));
    }
    if d.candidates
        .iter()
        .any(|u| !bundle.devices_for_user(u).is_empty())
    {
        return None;
    }
    Some(format!(
        "{NOBODY_CAN_TAP}: none of the cluster users it may be ({}) has a registered device (mfa_device), so no tap can answer the {req} requirement and the login will be refused{unless} (`mfactl enroll` a key for one of them)",
        super::ask::few(&d.candidates, ", ")
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

    fn ask(bundle: &Bundle, login: &str, service: &str) -> Explanation {
        let node = NodeInfo {
            name: "prod3".into(),
            id: None,
            labels: [("env".to_string(), "prod".to_string())].into(),
        };
        let q = ExplainQuery {
            login: login.into(),
            user: None,
            service: Some(service.into()),
        };
        let services = ServiceMap::new(&BTreeMap::new()).unwrap();
        explain(bundle, &node, &services, &q, SystemTime::now(), false)
    }

    fn nobody_note(e: &Explanation) -> Option<&String> {
        e.reasons
            .iter()
            .find(|r| r.starts_with("nobody can tap for this login"))
    }

    const SK_KEY: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIC0F/LJRSd23qXKZ9xHqOm9z6D8ciF5N9g+7iIaEJfEkAAAABHNzaDo=";

    /// A cluster that requires MFA of every session, a role that gives
    /// `deploy` on prod to jerry and olga, each their own login.
    fn deploy_bundle(devices: &str) -> Bundle {
        let text = format!(
            "kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec: {{require_session_mfa: true}}\n\
             ---\nkind: role\nversion: v7\nmetadata: {{name: deployers}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}', deploy]\n    node_labels: {{env: prod}}\n\
             ---\nkind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec: {{roles: [deployers], traits: {{logins: [jerry]}}}}\n\
             ---\nkind: user\nversion: v2\nmetadata: {{name: olga}}\nspec: {{roles: [deployers], traits: {{logins: [olga]}}}}\n{devices}"
        );
        load_bundle_str(&text, "t.yaml").unwrap()
    }

    /// A login that is no cluster user's, under a cluster-wide
    /// requirement: `decide` allows (host authentication applies), but
    /// nobody's key can answer, so explain says the login will be refused.
    #[test]
    fn a_login_of_nobody_that_needs_mfa_will_be_refused() {
        let b = deploy_bundle("");
        let e = ask(&b, "svc-backup", "sudo");
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        let note = nobody_note(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
        assert!(
            note.contains("login svc-backup is not a cluster user's")
                && note.contains("will be refused (give the login to a cluster user"),
            "{note}"
        );
        // Over SSH a Teleport certificate could still name the person.
        let e = ask(&b, "svc-backup", "sshd");
        let note = nobody_note(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
        assert!(
            note.contains("unless a Teleport certificate names the person"),
            "{note}"
        );
        // No requirement: nothing to answer, nothing said.
        let off = load_bundle_str(
            "kind: cluster_auth_preference\nversion: v2\nmetadata: {name: c}\nspec: {require_session_mfa: false}\n",
            "off.yaml",
        )
        .unwrap();
        assert_eq!(nobody_note(&ask(&off, "svc-backup", "sudo")), None);
        // A login that is one user's is the no-device note's, not this one.
        assert_eq!(nobody_note(&ask(&b, "jerry", "sudo")), None);
    }

    /// A shared login (a role gives `deploy` to jerry and olga): a tap
    /// says who logs in, but only when one of them has a registered key.
    #[test]
    fn a_shared_login_whose_users_have_no_device_will_be_refused() {
        let e = ask(&deploy_bundle(""), "deploy", "sudo");
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        assert_eq!(e.candidates, ["jerry", "olga"]);
        let note = nobody_note(&e).unwrap_or_else(|| panic!("{:?}", e.reasons));
        assert!(
            note.contains(
                "none of the cluster users it may be (jerry, olga) has a registered device"
            ),
            "{note}"
        );
        let olgas_key = format!(
            "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: olga-key}}\nspec:\n  user: olga\n  ssh_sk:\n    public_key: \"{SK_KEY} olga@laptop\"\n"
        );
        let e = ask(&deploy_bundle(&olgas_key), "deploy", "sudo");
        assert_eq!(nobody_note(&e), None, "{:?}", e.reasons);
    }

    /// Over SSH, jerry with no device under plain `hardware_key`: a
    /// certificate's `hardware_key` class alone is no MFA, so the note asks
    /// for one that shows it; `hardware_key_touch`'s certificate is MFA.
    #[test]
    fn without_a_device_plain_hardware_key_needs_a_certificate_that_shows_mfa() {
        for (require, shows_mfa) in [("hardware_key", true), ("hardware_key_touch", false)] {
            let b = load_bundle_str(
                &format!(
                    "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {{env: prod}}\n  options: {{require_session_mfa: {require}}}\n\
                     ---\nkind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec: {{roles: [prod]}}\n"
                ),
                "t.yaml",
            )
            .unwrap();
            let e = ask(&b, "jerry", "sshd");
            let note = jerrys_no_device_note(&e);
            assert!(note.contains("private-key-policy meets it"), "{note}");
            assert_eq!(note.contains("mfa-verified"), shows_mfa, "{note}");
        }
    }

    /// `hardware_key` from a role that does not allow the login: its key
    /// policy applies (Teleport's `RoleSet.PrivateKeyPolicy` takes every
    /// role), its session MFA does not (only allowing roles'), so a
    /// certificate meeting the key policy suffices without showing MFA.
    #[test]
    fn a_key_policy_without_session_mfa_asks_for_no_mfa_in_the_certificate() {
        let b = load_bundle_str(
            "kind: role\nversion: v7\nmetadata: {name: ra}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: prod}\n\
             ---\nkind: role\nversion: v7\nmetadata: {name: rb}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: dev}\n  options: {require_session_mfa: hardware_key}\n\
             ---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec: {roles: [ra, rb]}\n",
            "t.yaml",
        )
        .unwrap();
        let e = ask(&b, "jerry", "sshd");
        assert_eq!(
            (e.access.as_str(), e.mfa.as_str()),
            ("allow", "hardware_key")
        );
        let note = jerrys_no_device_note(&e);
        assert!(note.contains("private-key-policy meets it"), "{note}");
        assert!(!note.contains("mfa-verified"), "{note}");
    }

    /// The note that jerry has no registered device (the test fails
    /// without one).
    fn jerrys_no_device_note(e: &Explanation) -> &str {
        e.reasons
            .iter()
            .find(|r| r.starts_with("jerry has no registered device"))
            .unwrap_or_else(|| panic!("{:?}", e.reasons))
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
