//! Shared setup for the product scenarios (sshd_login.rs, pam_stacks.rs).
#![allow(dead_code)]

pub mod sudo;
pub mod unprivileged;
pub mod user_ca;

#[allow(unused_imports)]
pub use unprivileged::{as_user, wait_for};

use std::time::Duration;

use pam_mfa_e2e::agent::Bundle;
use pam_mfa_e2e::keys::SshKey;
use serde_json::Value;

#[allow(unused_imports)]
pub use pam_mfa_e2e::mfa_sshd::{
    module_args, sshd_stack, sshd_stack_fail_open, sshd_stack_with_sessions, MODULE_TIMEOUT,
};

/// The longest a refused login may take when the agent is gone or hostile.
pub fn refusal_deadline() -> Duration {
    Duration::from_secs(MODULE_TIMEOUT + 10)
}

/// The scenario bundle: roles access-dev (env: dev) and access-prod (env: prod,
/// `require_session_mfa: <prod_mfa>`), the cap, the user `login` (traits.logins
/// [login]) holding both roles, and one `ssh_sk` mfa_device per key.
pub fn bundle(login: &str, cap_mfa: &str, prod_mfa: &str, sk_keys: &[&SshKey]) -> Bundle {
    let mut b = Bundle::new().scenario_roles(prod_mfa).cap(cap_mfa).user(
        login,
        &["access-dev", "access-prod"],
        &[login],
    );
    for (i, k) in sk_keys.iter().enumerate() {
        b = b.sk_device(&format!("{login}-sk{i}"), login, &k.public_line);
    }
    b
}

/// The `decision` events for `login` (the agent also logs policy loads).
pub fn decisions_for<'a>(events: &'a [Value], login: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e.get("login").and_then(Value::as_str) == Some(login))
        .filter(|e| match e.get("event").and_then(Value::as_str) {
            Some(kind) => kind == "decision",
            None => true,
        })
        .collect()
}

pub fn field<'a>(e: &'a Value, name: &str) -> &'a str {
    e.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Asserts the fields every decision event carries.
pub fn assert_event_shape(e: &Value) {
    for f in ["result", "login", "service", "node", "reason"] {
        assert!(e.get(f).is_some(), "audit event lacks {f}: {e}");
    }
    // `user` and `requirement` may be absent for an unknown user or before a
    // requirement is known; when present they are strings.
    for f in ["user", "requirement"] {
        if let Some(v) = e.get(f) {
            assert!(v.is_string(), "audit field {f} is not a string: {e}");
        }
    }
}

/// Whether a refusal text tells the person to use a security key.
pub fn mentions_security_key(text: &str) -> bool {
    let t = text.to_lowercase();
    ["security key", "hardware key", "sk key", "fido", "tap"]
        .iter()
        .any(|w| t.contains(w))
}
