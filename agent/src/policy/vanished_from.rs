//! Vanished users (`super::vanished`) worked out from bundles: who a bundle
//! held and the next does not, and which host logins were each one's own.

use std::time::SystemTime;

use super::bundle::Bundle;
use super::resources::User;
use super::traits::{interpolate, value_shape, ValueShape};
use super::vanished::VanishedUser;

/// `user` of `bundle`, missed from `since` on.
pub fn vanished_user_of(bundle: &Bundle, user: &User, since: SystemTime) -> VanishedUser {
    VanishedUser::new(user.name.clone(), personal_logins(bundle, user), since)
}

/// The users `previous` held and `next` does not, missed from `now` on.
pub fn users_gone(previous: &Bundle, next: &Bundle, now: SystemTime) -> Vec<VanishedUser> {
    previous
        .users()
        .values()
        .filter(|u| !next.users().contains_key(&u.name))
        .map(|u| vanished_user_of(previous, u, now))
        .collect()
}

/// The host logins that were `user`'s own in `bundle`, in order, each once:
/// their name, their `logins` trait, and what their roles' allow-logins
/// templates gave them (a literal login such as `root` is a shared
/// account's, never one person's).
pub fn personal_logins(bundle: &Bundle, user: &User) -> Vec<String> {
    let mut logins = vec![user.name.clone()];
    let mut add = |l: &str| {
        if !l.is_empty() && !logins.iter().any(|k| k == l) {
            logins.push(l.to_owned());
        }
    };
    user.logins().iter().for_each(&mut add);
    for role in user.roles.iter().filter_map(|r| bundle.roles().get(r)) {
        for value in &role.allow.logins {
            match value_shape(value) {
                ValueShape::Literal => {}
                ValueShape::Trait(name) => {
                    user.traits
                        .get(&name)
                        .unwrap_or_default()
                        .iter()
                        .for_each(&mut add);
                }
                ValueShape::Other => interpolate(value, &user.traits)
                    .unwrap_or_default()
                    .iter()
                    .for_each(|l| add(l)),
            }
        }
    }
    logins
}
