//! What a decision says and refuses because a `user_login_state` gave a
//! user's roles and traits (the loader applies the state to the user; see
//! `load::login_states`). Used by `decide` and `limits`.

use super::query::LoginQuery;
use super::resources::User;

/// Where `user`'s roles came from, when a login state gave them: the first
/// thing a decision for them says.
pub(super) fn roles_origin(user: &User) -> Option<String> {
    let origin = user.login_state.as_ref()?;
    let own = match &origin.user_resource_roles {
        Some(roles) => format!("the user resource lists [{}]", roles.join(", ")),
        None => "the bundle has no user resource of that name".to_owned(),
    };
    Some(format!(
        "roles [{}] and traits of {} are those of user_login_state {} and of the user resource together (Teleport's GetUserOrLoginState reads the state, which may be older than the user resource; {own})",
        user.roles.join(", "),
        user.name,
        user.name
    ))
}

/// Why a user whose roles a login state gave may not log in:
/// - the state has no user resource beside it. Teleport would still read
///   its roles (`GetUserOrLoginState` returns the state), but it
///   authenticates a person only through their user resource (its
///   password, MFA devices and SSO record), so no new login of theirs can
///   happen there; a certificate Teleport issued earlier carries its own
///   roles and is decided from them, not from here. Devices and traits
///   naming such a user are therefore not allowed anything.
/// - the state is past its `metadata.expires`: Teleport's backend has
///   deleted it and reads the user resource again, while this bundle holds
///   the state's roles and traits beside the user resource's; denied until the policy is published
///   again (fail closed: the next bundle holds the user resource's).
pub(super) fn login_state_denial(q: &LoginQuery<'_>, user: &User) -> Option<String> {
    if user.has_login_state_only() {
        return Some(format!(
            "cluster user {} has a user_login_state but no user resource: Teleport cannot authenticate them without one, so access is denied (a certificate Teleport issued them is decided by its own roles)",
            user.name
        ));
    }
    user.is_login_state_expired(q.now).then(|| {
        format!(
            "the user_login_state of {} has expired (metadata.expires): Teleport has deleted it and reads the user's roles and traits from the user resource again, while this policy holds the state's beside them; access is denied until the policy is published again",
            user.name
        )
    })
}
