//! Shared setup for the product scenarios (sshd_login.rs, pam_stacks.rs).
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use pam_mfa_e2e::agent::Bundle;
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::SshKey;
use serde_json::Value;

/// The module's per-step timeout in these tests, in seconds.
pub const MODULE_TIMEOUT: u64 = 5;

/// The longest a refused login may take when the agent is gone or hostile.
pub fn refusal_deadline() -> Duration {
    Duration::from_secs(MODULE_TIMEOUT + 10)
}

/// `socket=... timeout=5 [extra]` for the module's lines.
pub fn module_args(socket: &Path, extra: &str) -> String {
    format!(
        "socket={} timeout={MODULE_TIMEOUT} {extra}",
        socket.display()
    )
    .trim_end()
    .to_string()
}

/// The sshd PAM service of the product scenarios:
/// `auth required pam_mfa.so ...`, `account required pam_mfa.so ...`,
/// `session required pam_permit.so`.
pub fn sshd_stack(socket: &Path, extra: &str) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(socket, extra);
    format!(
        "auth required {m} {args}\naccount required {m} {args}\nsession required pam_permit.so\n",
        m = module.display()
    )
}

/// Like [`sshd_stack`] with `fail_mode=open`, followed by pam_permit in auth and
/// account: a stack where every module says PAM_IGNORE fails in Linux-PAM, so a
/// fail-open deployment always has another module deciding.
pub fn sshd_stack_fail_open(socket: &Path) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(socket, "fail_mode=open");
    format!(
        "auth required {m} {args}\nauth required pam_permit.so\n\
account required {m} {args}\naccount required pam_permit.so\nsession required pam_permit.so\n",
        m = module.display()
    )
}

/// The scenario bundle: roles access-dev (env: dev) and access-prod (env: prod,
/// `require_session_mfa: <prod_mfa>`), the cap, the user `login` (traits.logins
/// [login]) holding both roles, and one `ssh_sk` mfa_device per key.
pub fn bundle(login: &str, cap_mfa: &str, prod_mfa: &str, sk_keys: &[&SshKey]) -> Bundle {
    let mut b = Bundle::new()
        .role(
            "access-dev",
            &[("env", "dev")],
            &["{{internal.logins}}"],
            None,
        )
        .role(
            "access-prod",
            &[("env", "prod")],
            &["{{internal.logins}}"],
            Some(prod_mfa),
        )
        .cap(cap_mfa)
        .user(login, &["access-dev", "access-prod"], &[login]);
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
