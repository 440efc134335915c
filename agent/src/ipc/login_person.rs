//! Whom a login counts against, where the kernel's view of the peer
//! ([`super::person`]) does not tell it all: sshd's logins by what sshd
//! authenticated them with, whoever the sshd process is traced to; a root
//! caller's with no one behind it by its account.

use pam_mfa_protocol::{PamContext, PamHook};

use super::person::{at_accept, Person};
use super::ssh_credential::credential_of;
use super::user_names::uid_of;
use crate::policy::ServiceClass;

/// Whether a request is sshd's: a root peer asking about a service of the
/// ssh class (`class`: what the service map says of its PAM service). A
/// non-root peer may only ask about itself, so its requests never are.
pub fn from_sshd(peer_uid: u32, class: Option<ServiceClass>) -> bool {
    peer_uid == 0 && class == Some(ServiceClass::Ssh)
}

/// The person a `begin` of `hook` is for, from a peer with uid `peer_uid`
/// first counted as `at_accept`, for a PAM service of class `class`.
///
/// sshd's logins ([`from_sshd`]) are many people, whatever person the sshd
/// process is traced to (sshd started from an admin's login session has
/// that admin's login uid): in `auth` and `account`, a login sshd
/// authenticated with a public key is that key's or certificate's on its
/// account ([`Person::LoginWith`]); `SSH_AUTH_INFO_0` is sshd's own there
/// (by `open_session`, a user's `~/.pam_environment` may have set it: see
/// `login::recorded_auth`). Any other login of sshd counts against its
/// account, in a budget of its own ([`Person::SshWithoutKey`]): nothing
/// sshd vouches for tells its people apart. rhost is no key for them (one
/// attacker may have many addresses, and each would be a budget), nor the
/// tty (the caller's to choose).
///
/// Any other login is its invoking person's (sudo, su, a screen locker),
/// or, from a root peer with no one behind it (the console `login`), its
/// account's.
pub fn for_login(
    at_accept: &Person,
    peer_uid: u32,
    class: Option<ServiceClass>,
    hook: PamHook,
    context: &PamContext,
) -> Person {
    if from_sshd(peer_uid, class) {
        let auth_info = context
            .ssh_auth_info
            .as_deref()
            .filter(|_| matches!(hook, PamHook::Auth | PamHook::Account));
        return of_sshd_login(&context.user, auth_info);
    }
    if *at_accept != Person::System {
        return at_accept.clone();
    }
    account_of(context)
}

/// The person a session that root peer `peer_pid` opens counts against:
/// sshd's by what authenticated its login, as [`for_login`] counts its
/// `auth` (`context` must hold what sshd sent to `auth` and `account`,
/// recorded then, never `SSH_AUTH_INFO_0` from the session's PAM
/// environment); anyone else's by the person behind the peer.
pub fn for_session(peer_pid: i32, class: Option<ServiceClass>, context: &PamContext) -> Person {
    if from_sshd(0, class) {
        return of_sshd_login(&context.user, context.ssh_auth_info.as_deref());
    }
    for_login(
        &at_accept(0, peer_pid),
        0,
        class,
        PamHook::OpenSession,
        context,
    )
}

/// sshd's login to `login`, which sshd authenticated as `auth_info` says.
fn of_sshd_login(login: &str, auth_info: Option<&str>) -> Person {
    match auth_info.and_then(credential_of) {
        Some(credential) => Person::LoginWith {
            login: login.to_string(),
            credential,
            account_uid: uid_of(login),
        },
        None => Person::SshWithoutKey(uid_of(login)),
    }
}

/// The account a login of a root peer with no one behind it counts
/// against: PAM_RUSER, else the account that logs in (its uid when it has
/// one but root's).
fn account_of(context: &PamContext) -> Person {
    let name = context
        .ruser
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&context.user);
    match uid_of(name) {
        Some(uid) if uid != 0 => Person::Uid(uid),
        _ => Person::Login(name.to_string()),
    }
}

/// The person a login's tap on a key attached to this host counts against:
/// a non-root peer itself (it may only ask about itself), a root peer run
/// by a user (sudo, su: its real uid, read through its pidfd), else the
/// person the login is about (PAM_RUSER, else the account). Taps on
/// attached keys are never for SSH logins, so no SSH credential counts.
pub fn for_tap(peer_uid: u32, real_uid: Option<u32>, context: &PamContext) -> Person {
    if peer_uid != 0 {
        return Person::Uid(peer_uid);
    }
    match real_uid {
        Some(uid) if uid != 0 => Person::Uid(uid),
        _ => account_of(context),
    }
}

#[cfg(test)]
#[path = "login_person_tests.rs"]
mod tests;
