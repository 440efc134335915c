//! The login the policy is asked about. PAM hands the agent names; the
//! kernel tells it who the caller is (its uid). Two rules keep the names
//! from choosing a weaker requirement than the person's:
//!
//! - an admin action (sudo, su, polkit) is decided for the invoking user:
//!   PAM_RUSER when the caller set it, else the name of the caller's real
//!   uid, never PAM_USER (sudo's `rootpw`/`targetpw`/`runaspw` with
//!   `!pam_ruser` set PAM_USER to root or the target and no PAM_RUSER);
//! - an account is its uid: a login that names no cluster user, while
//!   another name of the same uid is a cluster login (two passwd entries
//!   of one uid, or the name a case-insensitive directory gives the login:
//!   `RVCASE` is `rvcase`), is decided as that cluster login.

use pam_mfa_protocol::PamContext;

use super::verdict::PeerIds;
use crate::host_accounts::{
    account_of_name, name_of_uid, name_of_uid_bounded, other_names_of_uid, uid_of_name, Unanswered,
};
use crate::policy::{Bundle, ServiceClass};

/// The login the policy is asked about, or why there is none to ask about.
/// For admin actions the invoking user's own, which is the kernel's word:
/// a root peer's real uid read through the pidfd pinned at accept, a
/// non-root peer's own uid (which may only ask about itself). PAM_RUSER
/// names it when it is a name of that uid (sudo and su set it so: sudo's
/// `sudo_pam_init2`, util-linux su's `xgetlogin`; it picks among a uid's
/// names); PAM_RUSER naming another account is not taken (polkit's helper,
/// polkitagenthelper-pam.c, `pam_set_item(pam_h, PAM_RUSER, user_to_auth)`,
/// sets it to the admin identity the user chose in the dialog, whose
/// requirement may be weaker): the real uid's name is. Without PAM_RUSER
/// (sudo's `rootpw`/`targetpw`/`runaspw` with `!pam_ruser` set PAM_USER
/// to root or the target), the real uid's name too, never PAM_USER. A
/// caller whose real uid is root is root's own action or a daemon logging
/// someone in (an unmapped service gets admin rules): PAM_RUSER when set
/// (su from a root shell names the person who logged in), else PAM_USER.
/// Other logins: the account logged in to (PAM_USER).
pub fn policy_login(
    class: ServiceClass,
    ctx: &PamContext,
    peer: PeerIds,
) -> Result<String, String> {
    if class != ServiceClass::Admin {
        return Ok(ctx.user.clone());
    }
    let ruser = ctx.ruser.as_deref().filter(|r| !r.is_empty());
    let real_uid = if peer.uid == 0 {
        peer.real_uid
    } else {
        Some(peer.uid)
    };
    match (real_uid, ruser) {
        (Some(0), Some(r)) => Ok(r.to_owned()),
        (Some(0), None) => Ok(ctx.user.clone()),
        (Some(uid), Some(r)) if uid_of_name(r) == Some(uid) => Ok(r.to_owned()),
        (Some(uid), _) => name_of_uid(uid).ok_or_else(|| {
            format!("the caller's real uid {uid} has no user name: the invoking user's requirement is not known")
        }),
        (None, Some(r)) => Ok(r.to_owned()),
        (None, None) => Err("no PAM_RUSER and the caller's real uid could not be read: the invoking user's requirement is not known".into()),
    }
}

/// Whether `ruser` (PAM_RUSER) leaves a root caller's admin action root's
/// own: unset (sudo's `!pam_ruser`), `root`, or another name of uid 0.
pub fn ruser_is_root(ruser: Option<&str>) -> bool {
    match ruser.filter(|r| !r.is_empty()) {
        None | Some("root") => true,
        Some(r) => uid_of_name(r) == Some(0),
    }
}

/// A login as the policy decides it, after [`uid_alias`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AliasOf {
    /// The login itself names cluster users, or no other name of its uid does.
    Itself,
    /// Another name of the login's uid is a cluster login: decided
    /// for it; the note says why.
    Cluster { login: String, note: String },
    /// Several other names of the uid are cluster logins: refused, as the
    /// note says.
    Several { note: String },
    /// The user database did not answer for the login's uid in time:
    /// refused, as one of its names could be a cluster login.
    Unanswered { note: String },
}

/// Whether the bundle holds `login` as a cluster login: the traits of some
/// user name it, some role's logins do, or a user who vanished had it.
pub(super) fn is_cluster_login(bundle: &Bundle, login: &str, now: std::time::SystemTime) -> bool {
    !bundle.users_for_login(login).is_empty()
        || bundle.login_is_managed(login)
        || !bundle.vanished().for_login(login, now).is_empty()
}

/// The account is its uid: a `login` the bundle does not hold whose uid
/// has other names is decided as the one of them that is a cluster login;
/// several of them are refused. The uid's other names: the one the user
/// database gives the login (getpwnam's `pw_name`: sssd with
/// `case_sensitive = false` logs `RVCASE` in to `rvcase`, and sshd hands
/// PAM the name as typed), the uid's own (getpwuid's), and the passwd
/// entries of that uid the database enumerates (sssd and LDAP usually do
/// not). A login whose uid has no name that is a cluster login is itself.
pub(super) fn uid_alias(bundle: &Bundle, login: &str, now: std::time::SystemTime) -> AliasOf {
    if is_cluster_login(bundle, login, now) {
        return AliasOf::Itself;
    }
    // The same getpwnam that gives the uid gives the database's name.
    let Some((uid, db_name)) = account_of_name(login) else {
        return AliasOf::Itself;
    };
    let mut names = vec![db_name];
    match name_of_uid_bounded(uid) {
        Ok(name) => names.extend(name),
        // Its name could be a cluster login with a requirement: not known
        // is not "none" (fail closed).
        Err(Unanswered) => {
            return AliasOf::Unanswered {
                note: format!(
                    "login {login} is no cluster login, and the user database did not say in time what its uid {uid} is called: it could be a cluster login's account, so it is refused"
                ),
            }
        }
    }
    names.extend(other_names_of_uid(uid, login));
    let mut cluster: Vec<String> = Vec::new();
    for name in names {
        if name != login && !cluster.contains(&name) && is_cluster_login(bundle, &name, now) {
            cluster.push(name);
        }
    }
    match cluster.as_slice() {
        [] => AliasOf::Itself,
        [one] => AliasOf::Cluster {
            login: one.clone(),
            note: format!(
                "login {login} is no cluster login, but its uid {uid} is also cluster login {one}: decided as {one}"
            ),
        },
        several => AliasOf::Several {
            note: format!(
                "login {login} is no cluster login, but its uid {uid} is also cluster logins {}: which one decides is not clear, so it is refused",
                several.join(", ")
            ),
        },
    }
}
