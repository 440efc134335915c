//! PAM service name → login class.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

/// The kind of login a PAM service performs. It decides which rules apply
/// (DESIGN.md: admin actions follow stricter rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginClass {
    Ssh,
    Admin,
    Desktop,
}

impl LoginClass {
    pub fn name(self) -> &'static str {
        match self {
            LoginClass::Ssh => "ssh",
            LoginClass::Admin => "admin",
            LoginClass::Desktop => "desktop",
        }
    }
}

/// The built-in map. Configured entries are consulted first.
const BUILT_IN: &[(&str, LoginClass)] = &[
    ("sshd", LoginClass::Ssh),
    ("sudo", LoginClass::Admin),
    ("sudo-i", LoginClass::Admin),
    ("su", LoginClass::Admin),
    ("su-l", LoginClass::Admin),
    ("polkit-1", LoginClass::Admin),
    ("login", LoginClass::Desktop),
    ("gdm-*", LoginClass::Desktop),
    ("lightdm", LoginClass::Desktop),
    ("lightdm-greeter", LoginClass::Desktop),
    ("sddm", LoginClass::Desktop),
    ("kde", LoginClass::Desktop),
    ("xscreensaver", LoginClass::Desktop),
    ("gnome-screensaver", LoginClass::Desktop),
    ("i3lock", LoginClass::Desktop),
    ("swaylock", LoginClass::Desktop),
    ("xlock", LoginClass::Desktop),
    ("cinnamon-screensaver", LoginClass::Desktop),
    ("mate-screensaver", LoginClass::Desktop),
];

/// Maps PAM service names (globs with `*`) to classes.
#[derive(Debug, Clone)]
pub struct ServiceMap {
    entries: Vec<(Regex, String, LoginClass)>,
}

impl ServiceMap {
    pub fn new(configured: &BTreeMap<String, LoginClass>) -> Result<Self, String> {
        let mut entries = Vec::new();
        let configured_iter = configured.iter().map(|(k, v)| (k.as_str(), *v));
        for (pattern, class) in configured_iter.chain(BUILT_IN.iter().copied()) {
            if pattern.is_empty() {
                return Err("an empty service name in `services`".into());
            }
            let re = glob_to_regex(pattern)
                .map_err(|e| format!("service pattern '{pattern}' is invalid: {e}"))?;
            entries.push((re, pattern.to_string(), class));
        }
        Ok(ServiceMap { entries })
    }

    /// The class of a service, or None when nothing maps it. Callers treat
    /// an unmapped service with the strictest (admin) rules.
    pub fn class_of(&self, service: &str) -> Option<LoginClass> {
        self.entries
            .iter()
            .find(|(re, _, _)| re.is_match(service))
            .map(|(_, _, c)| *c)
    }
}

fn glob_to_regex(pattern: &str) -> Result<Regex, regex::Error> {
    let body: Vec<String> = pattern.split('*').map(regex::escape).collect();
    Regex::new(&format!("^{}$", body.join(".*")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_and_configured() {
        let mut cfg = BTreeMap::new();
        cfg.insert("sshd-*".to_string(), LoginClass::Ssh);
        cfg.insert("sudo".to_string(), LoginClass::Desktop);
        let m = ServiceMap::new(&cfg).unwrap();
        assert_eq!(m.class_of("sshd"), Some(LoginClass::Ssh));
        assert_eq!(m.class_of("sshd-mfatest"), Some(LoginClass::Ssh));
        assert_eq!(
            m.class_of("sudo"),
            Some(LoginClass::Desktop),
            "configured wins"
        );
        assert_eq!(m.class_of("su-l"), Some(LoginClass::Admin));
        assert_eq!(m.class_of("gdm-password"), Some(LoginClass::Desktop));
        assert_eq!(m.class_of("cron"), None);
        assert_eq!(m.class_of("sshdx"), None, "globs are anchored");
    }
}
