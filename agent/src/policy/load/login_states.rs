//! The loader's `user_login_state`s: claimed by name as users are, and at
//! the end given to the users they name (Teleport's `GetUserOrLoginState`,
//! lib/services/user_login_state.go: the state, when there is one, is what
//! the user's roles and traits are read from), so that every decision,
//! index and lock target sees the roles Teleport would.

use std::hash::BuildHasher;

use super::super::by_name::position;
use super::super::documents::Document;
use super::super::error::PolicyError;
use super::super::resources::{LoginState, User};
use super::{doc_error, Loader, Place};

impl Loader {
    /// A `user_login_state`: a second one of the same name is an error, as
    /// a second user is.
    pub(super) fn add_login_state(
        &mut self,
        state: LoginState,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        let hash = self.hasher.hash_one(state.name.as_str());
        let new = position(self.login_states.len());
        let states = &self.login_states;
        if let Some(first) = self
            .login_state_claims
            .claim(hash, new, |s| states[s as usize].name == state.name)
        {
            let first = self.show(self.login_state_places[first as usize]);
            return Err(doc_error(
                doc,
                origin,
                format!(
                    "duplicate user_login_state {:?} (first defined at {first})",
                    state.name
                ),
            ));
        }
        let place = self.place_of(origin, doc);
        self.login_states.push(state);
        self.login_state_places.push(place);
        Ok(())
    }

    /// `users` (in name order, with their places) with the login states
    /// applied: a user with a state takes its roles and traits beside its
    /// own (`LoginState::apply_to`), and the
    /// state's place (where its roles are written); a state with no user
    /// becomes a user of its own, marked so (see
    /// `User::has_login_state_only`). Still in name order.
    pub(super) fn apply_login_states(
        &mut self,
        users: Vec<User>,
        places: Vec<Place>,
    ) -> (Vec<User>, Vec<Place>) {
        let mut states: Vec<(LoginState, Place)> = std::mem::take(&mut self.login_states)
            .into_iter()
            .zip(std::mem::take(&mut self.login_state_places))
            .collect();
        if states.is_empty() {
            return (users, places);
        }
        states.sort_unstable_by(|a, b| a.0.name.cmp(&b.0.name));
        let mut out_users = Vec::with_capacity(users.len() + states.len());
        let mut out_places = Vec::with_capacity(users.len() + states.len());
        let mut states = states.into_iter().peekable();
        for (mut user, mut place) in users.into_iter().zip(places) {
            while let Some((state, at)) = states.next_if(|(s, _)| s.name < user.name) {
                out_users.push(state.into_user());
                out_places.push(at);
            }
            if let Some((state, at)) = states.next_if(|(s, _)| s.name == user.name) {
                state.apply_to(&mut user);
                place = at;
            }
            out_users.push(user);
            out_places.push(place);
        }
        for (state, at) in states {
            out_users.push(state.into_user());
            out_places.push(at);
        }
        (out_users, out_places)
    }
}
