//! What a decision says because a `user_login_state` gave a user's roles
//! and traits (the loader applies the state to the user; see
//! `load::login_states`). Used by `decide`.

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
        "roles [{}] and traits of {} come from user_login_state {} (Teleport's GetUserOrLoginState reads them there, not from the user resource; {own})",
        user.roles.join(", "),
        user.name,
        user.name
    ))
}
