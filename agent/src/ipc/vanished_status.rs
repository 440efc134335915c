//! The vanished users `mfactl status` lists (`policy::VanishedUsers`).

use std::time::SystemTime;

use pam_mfa_protocol::{VanishedUserInfo, VANISHED_USERS_SHOWN};

use crate::policy::{VanishedUser, VanishedUsers};
use crate::utc_time::rfc3339_utc;

/// The most recent vanished users still in force at `now` (an entry past
/// its retention no longer denies anything, so it is not listed).
pub(super) fn vanished_user_infos(set: &VanishedUsers, now: SystemTime) -> Vec<VanishedUserInfo> {
    let mut all: Vec<&VanishedUser> = set.iter_in_force(now).collect();
    all.sort_by(|a, b| b.since.cmp(&a.since).then_with(|| a.name.cmp(&b.name)));
    all.into_iter()
        .take(VANISHED_USERS_SHOWN)
        .map(|u| VanishedUserInfo {
            name: u.name.clone(),
            logins: u.logins.clone(),
            since: rfc3339_utc(u.since),
            until: u
                .until()
                .map_or_else(|| "(time out of range)".into(), rfc3339_utc),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::policy::VANISHED_USER_RETENTION;

    /// An entry past its retention denies nothing: not listed.
    #[test]
    fn entries_past_their_retention_are_not_listed() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100 * 24 * 3600);
        let old = now - VANISHED_USER_RETENTION - Duration::from_secs(60);
        let set = VanishedUsers::from_entries([
            VanishedUser::new("old".into(), vec!["old".into()], old),
            VanishedUser::new("new".into(), vec!["new".into()], now),
        ]);
        let names: Vec<String> = vanished_user_infos(&set, now)
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["new"]);
        assert_eq!(set.count_in_force(now), 1);
    }
}
