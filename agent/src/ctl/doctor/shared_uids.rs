//! Accounts that share a uid. The kernel knows a person by their uid,
//! while sudo and su name the first passwd entry of it and the policy
//! names logins: the agent decides a login that names no cluster user as
//! the cluster login sharing its uid (login/policy_login.rs `uid_alias`),
//! and refuses one whose uid two cluster logins share. `mfactl explain`
//! decides only the name it is given, so each name of such a uid needs
//! its own look.

use super::{Facts, Finding, Severity};

/// One warning per uid that has several names.
pub fn check_shared_uids(f: &Facts) -> Vec<Finding> {
    f.shared_uids
        .iter()
        .map(|(uid, names)| {
            let list = names.join(", ");
            let first = names.first().map(String::as_str).unwrap_or_default();
            Finding::new(
                "accounts.shared_uid",
                Severity::Warning,
                format!("uid {uid} has several account names: {list}"),
                &format!("they are one account to the kernel: sudo and su report the first ({first}) as the invoking user, and each name logs in to the same account; pam-mfa decides a name that is no cluster login as the cluster login sharing its uid (two cluster logins on one uid are refused), but `mfactl explain` decides only the name it is given"),
                format!("give each person a uid of their own, or run `mfactl explain --login NAME` (and `--service sudo`) for each of {list}"),
            )
        })
        .collect()
}

/// The uids of `by_uid` with more than one name, in uid order.
pub fn shared(by_uid: &crate::host_accounts::NamesByUid) -> Vec<(u32, Vec<String>)> {
    let mut out: Vec<(u32, Vec<String>)> = by_uid
        .iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(uid, names)| (*uid, names.clone()))
        .collect();
    out.sort_unstable_by_key(|(uid, _)| *uid);
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{good, ids};
    use super::*;
    use crate::host_accounts::group_by_uid;

    #[test]
    fn a_uid_with_two_names_is_a_warning_naming_both() {
        let mut f = good();
        assert!(!ids(&f).contains(&"accounts.shared_uid".to_string()));
        f.shared_uids = shared(&group_by_uid([
            ("root".to_owned(), 0),
            ("rvbjops".to_owned(), 1001),
            ("alice".to_owned(), 1000),
            ("rvbj".to_owned(), 1001),
        ]));
        assert_eq!(
            f.shared_uids,
            [(1001, vec!["rvbjops".into(), "rvbj".into()])]
        );
        let found = super::super::check_host(&f);
        let w = found
            .iter()
            .find(|x| x.id == "accounts.shared_uid")
            .expect("accounts.shared_uid");
        assert_eq!(w.severity, Severity::Warning);
        assert!(
            w.what.contains("uid 1001") && w.what.contains("rvbjops, rvbj"),
            "{}",
            w.what
        );
        assert!(w.why.contains("first (rvbjops)"), "{}", w.why);
    }
}
