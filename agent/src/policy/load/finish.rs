//! The end of a load: users in name order, the checks across resources
//! (roles and users a resource names but the bundle lacks), the bundle.

use sha2::Sha256;

use super::super::bundle::{hex_sha256, Bundle, BundleParts};
use super::super::by_name::ByName;
use super::super::resources::User;
use super::{Loader, Place};

impl Loader {
    pub(super) fn finish(mut self, hasher: Sha256) -> Bundle {
        // By the positions devices were claimed at: before anything else
        // leaves devices out.
        self.drop_shared_keys();
        self.drop_u2f_without_app_id();
        let roles = ByName::from_unsorted(std::mem::take(&mut self.roles));
        let (users, user_places) = sorted_by_name(
            std::mem::take(&mut self.users),
            std::mem::take(&mut self.user_places),
        );
        let (users, user_places) = self.apply_login_states(users, user_places);
        let users = ByName::from_sorted(users);
        for (user, &place) in users.values().zip(&user_places) {
            let whose = if user.login_state.is_some() {
                "user_login_state"
            } else {
                "user"
            };
            for role in &user.roles {
                if !roles.contains_key(role) {
                    let at = self.show(place);
                    self.warnings.push(format!(
                        "{at}: {whose} {:?} has role {role:?}, which is not in the bundle",
                        user.name
                    ));
                }
            }
        }
        for (device, &place) in self.devices.iter().zip(&self.device_places) {
            let at = format!("{}: ", self.show(place));
            match users.get(&device.user) {
                None => self.warnings.push(format!(
                    "{at}mfa_device {:?} belongs to user {:?}, who is not in the bundle",
                    device.name, device.user
                )),
                Some(u) if u.has_login_state_only() => self.warnings.push(format!(
                    "{at}mfa_device {:?} belongs to user {:?}, who has a user_login_state but no user resource: Teleport cannot authenticate them, and their logins are denied",
                    device.name, device.user
                )),
                Some(_) => {}
            }
        }
        if self.cap.is_none() {
            let warning = self.missing_cap_warning();
            self.warnings.push(warning);
        }
        Bundle::from_indexed(
            roles,
            users,
            BundleParts {
                cap: self.cap.unwrap_or_default(),
                networking: self.networking.unwrap_or_default(),
                locks: self.locks,
                devices: self.devices,
                cert_authorities: self.cert_authorities,
                warnings: self.warnings,
                revision: hex_sha256(hasher),
                ..BundleParts::default()
            },
        )
    }
}

impl Loader {
    /// A bundle without a `cluster_auth_preference` loads with Teleport's
    /// default cap, which requires no MFA. A real cluster always has a cap,
    /// so such a bundle is most likely an incomplete export (`tctl get
    /// role,user`) that dropped a cluster-wide `require_session_mfa`: said
    /// at every load (not refused, so bundles that rely on the defaults
    /// keep loading; `mfactl publish` refuses such input).
    fn missing_cap_warning(&self) -> String {
        let read = match self.origins.as_slice() {
            [] => String::new(),
            [one] => format!(" ({one})"),
            [first, second] => format!(" ({first} and {second})"),
            [first, rest @ ..] => format!(" ({first} and {} more files)", rest.len()),
        };
        format!(
            "no cluster_auth_preference in the bundle{read}: Teleport's defaults stand in for it (no cluster-wide require_session_mfa). A cluster always has one, so an export without it (e.g. `tctl get role,user`) leaves out a cluster-wide MFA requirement: add what `tctl get cap --format=yaml` prints"
        )
    }
}

/// Users in name order, with their places.
fn sorted_by_name(users: Vec<User>, places: Vec<Place>) -> (Vec<User>, Vec<Place>) {
    let mut order: Vec<u32> = (0..users.len())
        .map(super::super::by_name::position)
        .collect();
    order.sort_unstable_by(|&a, &b| users[a as usize].name.cmp(&users[b as usize].name));
    let mut slots: Vec<Option<User>> = users.into_iter().map(Some).collect();
    let users = order
        .iter()
        .map(|&i| slots[i as usize].take().expect("each user once"))
        .collect();
    let places = order.iter().map(|&i| places[i as usize]).collect();
    (users, places)
}
