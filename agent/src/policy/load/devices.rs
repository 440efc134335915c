//! The loader's devices: our `mfa_device` documents and the devices of a
//! user's Teleport `local_auth`, claimed by name and by key (one device per
//! ssh_sk key, WebAuthn credential id or PIV slot key) through the same
//! checks; legacy U2F devices left out without an app id.

use super::super::by_name::position;
use super::super::documents::Document;
use super::super::error::PolicyError;
use super::super::resources::{DeviceKind, DeviceOutcome, MfaDevice, User, WebauthnForm};
use super::{doc_error, Loader};
use std::hash::BuildHasher;

impl Loader {
    /// A user, and the devices of their `local_auth` (Teleport's own
    /// WebAuthn and U2F keys), claimed by name as `mfa_device`s are.
    pub(super) fn add_user(
        &mut self,
        user: User,
        devices: Vec<MfaDevice>,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        let hash = self.hasher.hash_one(user.name.as_str());
        let new = position(self.users.len());
        let users = &self.users;
        if let Some(first) = self
            .user_claims
            .claim(hash, new, |u| users[u as usize].name == user.name)
        {
            let first = self.show(self.user_places[first as usize]);
            return Err(doc_error(
                doc,
                origin,
                format!("duplicate user {:?} (first defined at {first})", user.name),
            ));
        }
        let place = self.place_of(origin, doc);
        for device in devices {
            self.push_device(device, doc, origin)?;
        }
        self.users.push(user);
        self.user_places.push(place);
        Ok(())
    }

    /// An `mfa_device`: skipped with a warning when it is not one this
    /// agent can use; else claimed by name and by key.
    pub(super) fn add_device(
        &mut self,
        outcome: DeviceOutcome,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        let device = match outcome {
            DeviceOutcome::Skipped(why) => {
                self.warnings
                    .push(format!("{origin}:{}: {why}", doc.content_line));
                return Ok(());
            }
            DeviceOutcome::Device(device) => device,
        };
        self.push_device(device, doc, origin)
    }

    /// A device (an `mfa_device` document's, or one of a user's
    /// `local_auth`), refused when its user already has a device of that
    /// name, or when its ssh_sk key is registered already (to anyone); a
    /// WebAuthn credential or PIV key registered already is noted for
    /// [`Loader::drop_shared_keys`].
    pub(super) fn push_device(
        &mut self,
        device: MfaDevice,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        let place = self.place_of(origin, doc);
        let new = u32::try_from(self.devices.len()).unwrap_or(u32::MAX);
        let hash = self.hasher.hash_one((&device.user, &device.name));
        let same_name = |d: &MfaDevice| d.user == device.user && d.name == device.name;
        if let Some(first) = self
            .device_names
            .claim(hash, new, |d| same_name(&self.devices[d as usize]))
        {
            return Err(doc_error(
                doc,
                origin,
                format!(
                    "duplicate mfa_device {:?} of user {:?} (first defined at {})",
                    device.name,
                    device.user,
                    self.show(self.device_places[first as usize])
                ),
            ));
        }
        if let Some(key) = key_id(&device.kind) {
            let hash = self.hasher.hash_one(key);
            let devices = &self.devices;
            let first = self.device_keys.claims.claim(hash, new, |d| {
                key_id(&devices[d as usize].kind) == Some(key)
            });
            match first {
                // Our own mfa_device documents: an ssh_sk key is one device.
                Some(first) if matches!(key, KeyId::SshSk(..)) => {
                    return Err(doc_error(
                        doc,
                        origin,
                        format!(
                            "mfa_device {:?}: this ssh_sk key is already registered at {}; a key may belong to one device only",
                            device.name,
                            self.show(self.device_places[first as usize])
                        ),
                    ));
                }
                // A WebAuthn credential or PIV key twice: sorted out at the
                // end (`drop_shared_keys`), never the bundle refused (Teleport
                // lets two users register the same credential id).
                Some(first) => self.device_keys.shared.push((first, new)),
                None => {}
            }
        }
        self.devices.push(device);
        self.device_places.push(place);
        Ok(())
    }

    /// Devices whose WebAuthn credential or PIV key another device has too.
    /// One user's second copy is left out, the first kept. A PIV key of
    /// several users is one public key (its `key_sha256`): a tap by it would
    /// not say whose it is, and none of them is kept. A WebAuthn credential
    /// id of several users is kept for each: the id is not secret (a prompt
    /// names it) and a self-attested key may be registered under any id,
    /// so leaving the devices out would let anyone switch off another's
    /// key. A tap is credited by its signature instead: only to the user
    /// whose registered public key verifies it, never when keys of several
    /// users do (`login::tap_match`), as Teleport's `loginFlow.finish`
    /// (lib/auth/webauthn/login.go) looks the credential id up among the
    /// logging-in user's own devices only. The same id with the same public
    /// key under several users is named in a warning (such a tap says no
    /// one where those users may all tap). Each device left out is named
    /// in a warning.
    pub(super) fn drop_shared_keys(&mut self) {
        if self.device_keys.shared.is_empty() {
            return;
        }
        let mut by_first: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for &(first, dup) in &self.device_keys.shared {
            by_first
                .entry(first)
                .or_insert_with(|| vec![first])
                .push(dup);
        }
        let mut dropped = vec![false; self.devices.len()];
        for group in by_first.into_values() {
            let piv = matches!(self.devices[group[0] as usize].kind, DeviceKind::Piv(_));
            let owner = &self.devices[group[0] as usize].user;
            let one_user = group
                .iter()
                .all(|&d| self.devices[d as usize].user == *owner);
            if piv && !one_user {
                for &d in &group {
                    dropped[d as usize] = true;
                    self.warn_skipped(d, "its key is registered to several users, so a tap by it would not say whose it is");
                }
                continue;
            }
            let mut kept: Vec<u32> = Vec::new();
            for &d in &group {
                let device = &self.devices[d as usize];
                if kept
                    .iter()
                    .any(|&k| self.devices[k as usize].user == device.user)
                {
                    dropped[d as usize] = true;
                    self.warn_skipped(d, "its key is registered to the same user already");
                    continue;
                }
                if let Some(&twin) = kept
                    .iter()
                    .find(|&&k| same_public_key(&self.devices[k as usize].kind, &device.kind))
                {
                    self.warn_same_key(twin, d);
                }
                kept.push(d);
            }
        }
        let devices = std::mem::take(&mut self.devices);
        let places = std::mem::take(&mut self.device_places);
        for ((d, place), drop) in devices.into_iter().zip(places).zip(dropped) {
            if !drop {
                self.devices.push(d);
                self.device_places.push(place);
            }
        }
    }

    /// A warning naming device `d`, left out for `why`.
    fn warn_skipped(&mut self, d: u32, why: &str) {
        let (device, place) = (&self.devices[d as usize], self.device_places[d as usize]);
        let warning = format!(
            "{}: skipped {} device {:?} of user {:?}: {why}",
            self.show(place),
            device.kind.name(),
            device.name,
            device.user
        );
        self.warnings.push(warning);
    }

    /// A warning that device `d` holds the credential id and public key of
    /// another user's device `twin`: both are kept, and a tap by that key
    /// where both users may tap is refused as saying no one.
    fn warn_same_key(&mut self, twin: u32, d: u32) {
        let (device, first) = (&self.devices[d as usize], &self.devices[twin as usize]);
        let warning = format!(
            "{}: {} device {:?} of user {:?} has the credential id and public key of device {:?} of user {:?} ({}): a tap by it is refused where both may tap, as it would not say whose it is",
            self.show(self.device_places[d as usize]),
            device.kind.name(),
            device.name,
            device.user,
            first.name,
            first.user,
            self.show(self.device_places[twin as usize]),
        );
        self.warnings.push(warning);
    }

    /// Legacy U2F devices sign for the cap's `u2f.app_id`: without one
    /// (the cap may come after the users) they cannot be verified, and are
    /// left out with a warning.
    pub(super) fn drop_u2f_without_app_id(&mut self) {
        if self.cap.as_ref().is_some_and(|c| c.u2f_app_id.is_some()) {
            return;
        }
        let devices = std::mem::take(&mut self.devices);
        let places = std::mem::take(&mut self.device_places);
        for (d, place) in devices.into_iter().zip(places) {
            if matches!(&d.kind, DeviceKind::Webauthn(w) if w.form == WebauthnForm::U2f) {
                self.warnings.push(format!(
                    "{}: skipped U2F device {:?} of user {:?}: the cluster_auth_preference has no u2f.app_id to verify it with",
                    self.show(place),
                    d.name,
                    d.user
                ));
            } else {
                self.devices.push(d);
                self.device_places.push(place);
            }
        }
    }
}

/// What names a device's key, for "one device per key": an ssh_sk key's
/// type and blob, a WebAuthn (or U2F) credential id, a PIV slot key's
/// SubjectPublicKeyInfo digest. A WebAuthn device without a credential id
/// names none (it cannot answer).
#[derive(Hash, PartialEq, Eq, Clone, Copy)]
enum KeyId<'a> {
    SshSk(&'a str, &'a [u8]),
    Credential(&'a [u8]),
    Piv(&'a [u8; 32]),
}

/// Whether two WebAuthn devices hold the same public key (the same form
/// and bytes): a signature then verifies for both.
fn same_public_key(a: &DeviceKind, b: &DeviceKind) -> bool {
    match (a, b) {
        (DeviceKind::Webauthn(a), DeviceKind::Webauthn(b)) => {
            a.form == b.form && a.public_key == b.public_key
        }
        _ => false,
    }
}

fn key_id(kind: &DeviceKind) -> Option<KeyId<'_>> {
    match kind {
        DeviceKind::SshSk { key_type, key_blob } => Some(KeyId::SshSk(key_type, key_blob)),
        DeviceKind::Webauthn(w) if !w.credential_id.is_empty() => {
            Some(KeyId::Credential(&w.credential_id))
        }
        DeviceKind::Webauthn(_) => None,
        DeviceKind::Piv(p) => Some(KeyId::Piv(&p.key_sha256)),
    }
}

/// Devices claimed by key, and the pairs (first, later) found with the same
/// WebAuthn credential or PIV key.
#[derive(Default)]
pub(super) struct KeyClaims {
    claims: super::super::load_support::Claims,
    shared: Vec<(u32, u32)>,
}

impl KeyClaims {
    pub(super) fn reserve(&mut self, n: usize) {
        self.claims.reserve(n);
    }
}
