//! What changed between two bundles, one line per resource:
//! `+ role/x` (added), `- lock/y` (removed), `~ user/z` (changed).

use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::policy::Bundle;

/// Resource-level differences from `old` (none: everything is new) to `new`,
/// sorted by kind and name.
pub fn diff_bundles(old: Option<&Bundle>, new: &Bundle) -> Vec<String> {
    let empty = Bundle::empty();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    compare(
        &mut out,
        "role",
        by_name(old.roles().values(), |r| r.name.clone()),
        by_name(new.roles().values(), |r| r.name.clone()),
    );
    compare(
        &mut out,
        "user",
        by_name(old.users().values(), |u| u.name.clone()),
        by_name(new.users().values(), |u| u.name.clone()),
    );
    compare(
        &mut out,
        "lock",
        by_name(old.locks().iter(), |l| l.name.clone()),
        by_name(new.locks().iter(), |l| l.name.clone()),
    );
    compare(
        &mut out,
        "mfa_device",
        by_name(old.devices().iter(), |d| d.name.to_string()),
        by_name(new.devices().iter(), |d| d.name.to_string()),
    );
    let ca_name = |c: &crate::policy::CertAuthority| format!("{}/{}", c.ca_type, c.cluster_name);
    compare(
        &mut out,
        "cert_authority",
        by_name(old.cert_authorities().iter(), ca_name),
        by_name(new.cert_authorities().iter(), ca_name),
    );
    if old.cap != new.cap {
        out.push("~ cluster_auth_preference/cluster-auth-preference".into());
    }
    if old.networking != new.networking {
        out.push("~ cluster_networking_config/cluster-networking-config".into());
    }
    out
}

/// Resources by name; a repeated name keeps every copy, so a change in
/// any copy shows.
fn by_name<'a, T: Debug + PartialEq + 'a>(
    items: impl Iterator<Item = &'a T>,
    name: impl Fn(&T) -> String,
) -> BTreeMap<String, Vec<&'a T>> {
    let mut m: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for i in items {
        m.entry(name(i)).or_default().push(i);
    }
    m
}

fn compare<T: PartialEq>(
    out: &mut Vec<String>,
    kind: &str,
    old: BTreeMap<String, Vec<&T>>,
    new: BTreeMap<String, Vec<&T>>,
) {
    for (name, items) in &new {
        match old.get(name) {
            None => out.push(format!("+ {kind}/{name}")),
            Some(before) if before != items => out.push(format!("~ {kind}/{name}")),
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(format!("- {kind}/{name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load_bundle_str;

    const BASE: &str = "kind: role\nversion: v7\nmetadata: {name: dev}\nspec: {allow: {logins: [a]}}\n---\nkind: role\nversion: v7\nmetadata: {name: prod}\nspec: {allow: {logins: [a]}}\n---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec: {roles: [dev]}\n";

    #[test]
    fn added_removed_changed() {
        let old = load_bundle_str(BASE, "old").unwrap();
        let text = BASE
            .replace(
                "name: prod}\nspec: {allow: {logins: [a]}}",
                "name: prod}\nspec: {allow: {logins: [b]}}",
            )
            .replace("name: dev}", "name: dev2}")
            + "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec: {target: {user: jerry}}\n";
        let new = load_bundle_str(&text, "new").unwrap();
        assert_eq!(
            diff_bundles(Some(&old), &new),
            vec!["+ role/dev2", "~ role/prod", "- role/dev", "+ lock/l1"]
        );
        assert!(diff_bundles(Some(&new), &new).is_empty());
        let first = diff_bundles(None, &old);
        assert_eq!(first, vec!["+ role/dev", "+ role/prod", "+ user/jerry"]);
        // The cluster-wide idle timeout alone changes the meaning too.
        let idle = BASE.to_owned()
            + "---\nkind: cluster_networking_config\nversion: v2\nmetadata: {name: cluster-networking-config}\nspec: {client_idle_timeout: 15m}\n";
        let idle = load_bundle_str(&idle, "idle").unwrap();
        assert_eq!(
            diff_bundles(Some(&old), &idle),
            vec!["~ cluster_networking_config/cluster-networking-config"]
        );
    }
}
