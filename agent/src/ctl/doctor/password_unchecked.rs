//! The worst order of README's two steps: /etc/pam.d/sshd with pam_mfa.so
//! and no password module (step 2), while sshd still lets a login
//! complete by password or keyboard-interactive alone (step 1 not in
//! effect, globally or in a Match block). sshd hands the password to that
//! PAM stack, where only pam_mfa.so runs, and pam-mfa decides MFA, not
//! passwords: any password logs in, and none at all where the policy asks
//! no MFA.

use std::collections::BTreeMap;

use super::pam_stack::stack;
use super::sshd_fix::{DROP_IN, RELOAD};
use super::sshd_match::{blocks, SSHD_T_FOR_ONE};
use super::sshd_t::{method_lists, parse_sshd_t};
use super::{Facts, Finding, Severity};

/// Modules that check a password (or another first factor) in an auth
/// stack: `common-auth`'s pam_unix.so, and the directory ones.
const PASSWORD_MODULES: &[&str] = &[
    "pam_unix.so",
    "pam_sss.so",
    "pam_ldap.so",
    "pam_krb5.so",
    "pam_winbind.so",
    "pam_userdb.so",
    "pam_radius_auth.so",
];

/// The settings that decide whether a login completes without a key: for
/// sshd's global configuration (`sshd -T`) or one Match block (its own
/// values over the global ones).
struct Scope<'a> {
    /// Where, for the messages.
    place: String,
    methods: &'a str,
    password: &'a str,
    kbd_interactive: &'a str,
}

impl Scope<'_> {
    /// A method sshd has on here: `password` or `keyboard-interactive`
    /// (the two that reach the PAM auth stack).
    fn on(&self, method: &str) -> bool {
        let switch = match method {
            "password" => self.password,
            "keyboard-interactive" => self.kbd_interactive,
            _ => return false,
        };
        // Unset: sshd's default, yes for both.
        switch.is_empty() || switch.eq_ignore_ascii_case("yes")
    }

    /// A method list made of password and keyboard-interactive alone, each
    /// on; `any`: either one on.
    fn lets_in_without_key(&self) -> bool {
        let lists = method_lists(self.methods);
        if lists.is_empty() {
            return self.on("password") || self.on("keyboard-interactive");
        }
        lists.iter().any(|l| l.iter().all(|m| self.on(m)))
    }
}

/// An error when /etc/pam.d/sshd checks no password while sshd lets some
/// login in by password or keyboard-interactive alone.
pub fn check_password_unchecked(f: &Facts) -> Vec<Finding> {
    let auth = stack(&f.pam_files, "sshd", "auth");
    let checks_password = auth.iter().any(|l| {
        let module = l.module.rsplit('/').next().unwrap_or("");
        PASSWORD_MODULES.contains(&module)
    });
    if checks_password || !auth.iter().any(|l| l.is_mfa()) {
        return Vec::new();
    }
    let Some(Ok(text)) = &f.sshd else {
        return Vec::new();
    };
    let global = parse_sshd_t(text);
    let get = |k: &str| global.get(k).map_or("", String::as_str);
    // Without PAM sshd checks passwords itself (sshd.use_pam says it).
    if get("usepam") != "yes" {
        return Vec::new();
    }
    let scopes = scopes(f, &global);
    let open: Vec<String> = scopes
        .iter()
        .filter(|s| s.lets_in_without_key())
        .map(|s| s.place.clone())
        .collect();
    if open.is_empty() {
        return Vec::new();
    }
    let file = format!("{}/sshd", f.pam_dir);
    vec![Finding::new(
        "pam.sshd.password_unchecked",
        Severity::Error,
        format!(
            "CRITICAL: {file} checks no password (pam_mfa.so without common-auth or pam_unix.so in auth), and sshd lets a login in by password or keyboard-interactive alone: {}",
            open.join("; ")
        ),
        "any password logs in now: sshd hands the password to this PAM stack, where only pam_mfa.so runs, and pam-mfa decides MFA, not passwords (where the policy asks no MFA, `mfa: off`, nothing else is asked)",
        format!(
            "now: put `@include common-auth` back in place of `auth required pam_mfa.so` in {file} (passwords are checked again); then do README step 1: `AuthenticationMethods publickey,keyboard-interactive` in {DROP_IN}, for every connection (no Match block with other methods), {RELOAD}; and replace `@include common-auth` again only once `sshd -T` shows `authenticationmethods publickey,keyboard-interactive`, and so does {SSHD_T_FOR_ONE}"
        ),
    )]
}

/// sshd's global settings, then each Match block's over them.
fn scopes<'a>(f: &'a Facts, global: &'a BTreeMap<String, String>) -> Vec<Scope<'a>> {
    let get = |k: &str| global.get(k).map_or("", String::as_str);
    let methods = get("authenticationmethods");
    let mut out = vec![Scope {
        place: format!(
            "sshd -T has AuthenticationMethods {methods} (PasswordAuthentication {}, KbdInteractiveAuthentication {})",
            get("passwordauthentication"),
            get("kbdinteractiveauthentication")
        ),
        methods,
        password: get("passwordauthentication"),
        kbd_interactive: get("kbdinteractiveauthentication"),
    }];
    let Some(Ok(settings)) = &f.sshd_match_settings else {
        return out;
    };
    for (block, set) in blocks(settings) {
        let own = |k: &str| set.get(k).map(|s| s.value.as_str());
        let keywords = [
            "authenticationmethods",
            "passwordauthentication",
            "kbdinteractiveauthentication",
        ];
        if keywords.iter().all(|k| own(k).is_none()) {
            continue;
        }
        let criteria = set.values().next().map_or("", |s| s.criteria.as_str());
        let methods = own("authenticationmethods").unwrap_or(methods);
        out.push(Scope {
            place: format!("`Match {criteria}` at {block}, with AuthenticationMethods {methods}"),
            methods,
            password: own("passwordauthentication").unwrap_or(get("passwordauthentication")),
            kbd_interactive: own("kbdinteractiveauthentication")
                .unwrap_or(get("kbdinteractiveauthentication")),
        });
    }
    out
}
