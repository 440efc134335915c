//! Who the passwordless sudoers rules are for: the accounts whose sudo
//! runs only sudo's account stack, where pam-mfa then decides with no
//! password before it. Doctor asks the policy about each (see
//! [`super::login_decisions`]): where nobody can tap for it, that sudo is
//! refused.

use std::path::Path;

use super::sudoers::{matching_lines, PASSWORDLESS};

/// Where doctor reads groups and their members (the files, not NSS: a
/// directory's groups are not resolved).
pub const GROUP_FILE: &str = "/etc/group";
pub const PASSWD_FILE: &str = "/etc/passwd";

/// An account a passwordless rule is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordlessLogin {
    pub login: String,
    /// `file:line` of the rule.
    pub at: String,
}

/// The accounts the passwordless rules (`NOPASSWD`, `!authenticate`) of
/// the sudoers files name, a `%group` through `group` and `passwd`
/// (`/etc/group`, `/etc/passwd`); once each, at its first rule.
pub fn passwordless_logins(
    main: &Path,
    dir: &Path,
    group: &str,
    passwd: &str,
) -> Vec<PasswordlessLogin> {
    let mut out: Vec<PasswordlessLogin> = Vec::new();
    for (at, line) in matching_lines(main, dir, PASSWORDLESS) {
        for entry in rule_subjects(&line) {
            for login in resolve(&entry, group, passwd) {
                if !out.iter().any(|p| p.login == login) {
                    out.push(PasswordlessLogin {
                        login,
                        at: at.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The user list of a sudoers rule (`alice, %ops ALL = ...`) or of a
/// `Defaults:alice,bob` line; none for other lines (a global `Defaults
/// !authenticate` names nobody in particular).
pub fn rule_subjects(line: &str) -> Vec<String> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("Defaults") {
        let Some(list) = rest.strip_prefix(':') else {
            return Vec::new();
        };
        let list = list.split_whitespace().next().unwrap_or("");
        return split_list(list);
    }
    let head = line.split('=').next().unwrap_or("");
    // Commas may have spaces around them: `alice, bob ALL`.
    let joined = head.split(',').map(str::trim).collect::<Vec<_>>().join(",");
    let Some(users) = joined.split_whitespace().next() else {
        return Vec::new();
    };
    // User_Alias, Runas_Alias, Host_Alias, Cmnd_Alias lines define names.
    if users.ends_with("_Alias") {
        return Vec::new();
    }
    split_list(users)
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// The accounts an entry of a user list names: a user, or the members of
/// a `%group` (those it lists, and those whose primary group it is).
/// Negations, aliases (upper case), `ALL`, netgroups (`+`), uids and gids
/// (`#`) and non-Unix groups (`%:`) are not resolved.
fn resolve(entry: &str, group: &str, passwd: &str) -> Vec<String> {
    let unresolved = entry.starts_with(['!', '+', '#'])
        || entry == "ALL"
        || entry
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if unresolved {
        return Vec::new();
    }
    let Some(name) = entry.strip_prefix('%') else {
        return vec![entry.trim_matches('"').to_string()];
    };
    if name.starts_with([':', '#']) {
        return Vec::new();
    }
    let name = name.trim_matches('"');
    let Some(fields) = group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && f[0] == name)
    else {
        return Vec::new();
    };
    let mut members: Vec<String> = fields[3]
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    for user in passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()) {
        if user.len() >= 4 && user[3] == fields[2] && !members.iter().any(|m| m == user[0]) {
            members.push(user[0].to_string());
        }
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "root:x:0:\nsudo:x:27:debian,olga\nops:x:1002:\n";
    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000::/home/debian:/bin/bash\nbob:x:1001:1002::/home/bob:/bin/bash\n";

    #[test]
    fn the_accounts_of_a_rule_and_of_its_groups() {
        assert_eq!(rule_subjects("debian ALL=(ALL) NOPASSWD:ALL"), ["debian"]);
        assert_eq!(
            rule_subjects("alice, %ops ALL = (root) NOPASSWD: /usr/bin/systemctl"),
            ["alice", "%ops"]
        );
        assert_eq!(
            rule_subjects("Defaults:bob,carl !authenticate"),
            ["bob", "carl"]
        );
        assert!(rule_subjects("Defaults !authenticate").is_empty());
        assert!(rule_subjects("Defaults@host !authenticate").is_empty());
        assert!(rule_subjects("User_Alias ADMINS = a, b").is_empty());
        assert_eq!(resolve("%sudo", GROUP, PASSWD), ["debian", "olga"]);
        // bob's primary group is ops (1002), which lists nobody.
        assert_eq!(resolve("%ops", GROUP, PASSWD), ["bob"]);
        for unresolved in [
            "ADMINS",
            "ALL",
            "!bob",
            "+netgroup",
            "#1000",
            "%:domain users",
            "%nogroup",
        ] {
            assert!(
                resolve(unresolved, GROUP, PASSWD).is_empty(),
                "{unresolved}"
            );
        }
    }

    #[test]
    fn each_account_once_at_its_first_rule() {
        let dir = std::env::temp_dir().join(format!("pmfa-sudoers-acc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(
            dir.join("sudoers"),
            "root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("d/90-cloud-init-users"),
            "debian ALL=(ALL) NOPASSWD:ALL\n",
        )
        .unwrap();
        let found = passwordless_logins(&dir.join("sudoers"), &dir.join("d"), GROUP, PASSWD);
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p.login.as_str(), p.at.rsplit('/').next().unwrap()))
            .collect();
        assert_eq!(got, [("debian", "sudoers:2"), ("olga", "sudoers:2")]);
    }
}
