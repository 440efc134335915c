//! PAM service name → login class.

use std::collections::BTreeMap;

use crate::policy::ServiceClass;
use regex::Regex;

/// The built-in map. Configured entries are consulted first.
const BUILT_IN: &[(&str, ServiceClass)] = &[
    ("sshd", ServiceClass::Ssh),
    ("sudo", ServiceClass::Admin),
    ("sudo-i", ServiceClass::Admin),
    ("su", ServiceClass::Admin),
    ("su-l", ServiceClass::Admin),
    ("polkit-1", ServiceClass::Admin),
    ("login", ServiceClass::Desktop),
    ("gdm-*", ServiceClass::Desktop),
    ("lightdm", ServiceClass::Desktop),
    ("lightdm-greeter", ServiceClass::Desktop),
    ("sddm", ServiceClass::Desktop),
    ("kde", ServiceClass::Desktop),
    ("xscreensaver", ServiceClass::Desktop),
    ("gnome-screensaver", ServiceClass::Desktop),
    ("i3lock", ServiceClass::Desktop),
    ("swaylock", ServiceClass::Desktop),
    ("xlock", ServiceClass::Desktop),
    ("cinnamon-screensaver", ServiceClass::Desktop),
    ("mate-screensaver", ServiceClass::Desktop),
];

/// Maps PAM service names (globs with `*`) to classes.
#[derive(Debug, Clone)]
pub struct ServiceMap {
    entries: Vec<(Regex, String, ServiceClass)>,
}

impl ServiceMap {
    pub fn new(configured: &BTreeMap<String, ServiceClass>) -> Result<Self, String> {
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
    pub fn class_of(&self, service: &str) -> Option<ServiceClass> {
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
        cfg.insert("sshd-*".to_string(), ServiceClass::Ssh);
        cfg.insert("sudo".to_string(), ServiceClass::Desktop);
        let m = ServiceMap::new(&cfg).unwrap();
        assert_eq!(m.class_of("sshd"), Some(ServiceClass::Ssh));
        assert_eq!(m.class_of("sshd-mfatest"), Some(ServiceClass::Ssh));
        assert_eq!(
            m.class_of("sudo"),
            Some(ServiceClass::Desktop),
            "configured wins"
        );
        assert_eq!(m.class_of("su-l"), Some(ServiceClass::Admin));
        assert_eq!(m.class_of("gdm-password"), Some(ServiceClass::Desktop));
        assert_eq!(m.class_of("cron"), None);
        assert_eq!(m.class_of("sshdx"), None, "globs are anchored");
    }
}
