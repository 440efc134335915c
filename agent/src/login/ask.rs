//! Stage 5 of a decision: what to ask for when the evidence at hand falls
//! short: a tap by whom (`Verdict::tap_users`), or, when no tap can do, the
//! message that says what would.

use super::evidence::KeyClass;
use super::key_rules::hint;
use super::satisfy::login_key_meets_key_policy;
use super::verdict::Verdict;
use crate::policy::{Decision, Requirement, ServiceClass};
use crate::state::AgentState;

/// An SSH login of a known person: a tap proves the session's MFA (and the
/// touch/PIN it signed); the hardware-key policy of an SSH login is about
/// the login key itself (DESIGN.md), so a tap is offered only when the key
/// already meets it.
pub(super) fn tap_or_key(
    state: &AgentState,
    v: &mut Verdict,
    req: Requirement,
    login_key: KeyClass,
    piv_failed: bool,
    user: &str,
) {
    if login_key_meets_key_policy(req, login_key) {
        v.tap_users = vec![user.to_string()];
    } else if login_key == KeyClass::None && !piv_failed {
        // (A registered key that fell short already says what it lacked.)
        v.message = format!(
            "pam-mfa: {} requires {} for {user}: log in with a hardware security key of that kind. {}",
            state.node.name,
            req.key_policy.name(),
            hint(&req)
        );
    }
}

/// sudo, su or a console: no login key counts, only a fresh tap.
pub(super) fn fresh_tap(
    state: &AgentState,
    v: &mut Verdict,
    service: &str,
    req: Requirement,
    users: Vec<String>,
    class: ServiceClass,
) {
    v.message = format!(
        "pam-mfa: {service} on {} requires MFA ({}) for {}: a tap of your registered security key is needed",
        state.node.name,
        req.name(),
        few(&users, " or ")
    );
    v.reason = format!("{}; class {} needs a fresh tap", v.reason, class.name());
    v.tap_users = users;
}

/// A login whose person is not known that maps to several cluster users,
/// or a cluster-managed login (shared and system accounts): a tap by one
/// of the users the policy allows says who logs in, and the login is then
/// decided again for them alone. A login of nobody known keeps the cap's
/// rule: there is nobody whose key could answer.
pub(super) fn candidates_tap(
    state: &AgentState,
    v: &mut Verdict,
    d: &Decision,
    login: &str,
    class: ServiceClass,
    service: &str,
) {
    let node = &state.node.name;
    let req = d.requirement;
    if !d.known_user || d.candidates.is_empty() {
        v.message = format!(
            "pam-mfa: {login} is not a cluster user, and {node} requires MFA ({}) for every session",
            req.name()
        );
        return;
    }
    if class != ServiceClass::Ssh {
        return fresh_tap(state, v, service, req, d.candidates.clone(), class);
    }
    if !login_key_meets_key_policy(req, KeyClass::None) {
        v.message = format!(
            "pam-mfa: {node} requires {} for {login}: log in with a registered hardware security key of that kind. {}",
            req.key_policy.name(),
            hint(&req)
        );
        return;
    }
    v.message = format!(
        "pam-mfa: {login} on {node} requires MFA ({}) and the login belongs to several cluster users ({}): tap your registered security key, or log in with it",
        req.name(),
        few(&d.candidates, ", ")
    );
    v.reason = format!(
        "{}; who logs in is not known: a tap by {} identifies them",
        v.reason,
        few(&d.candidates, " or ")
    );
    v.tap_users = d.candidates.clone();
}

/// Names for a message: all of them when few, else the first few and how
/// many more (a shared login may have thousands of candidates).
pub(super) fn few(names: &[String], sep: &str) -> String {
    crate::name_list::first_names(names, 5, sep)
}
