//! Loading bundles from text, a file, or a directory of files.

mod cluster_settings;
mod convert;
mod devices;
mod finish;
mod login_states;
mod parallel;
mod policy_file;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::beside::beside;
use super::bundle::Bundle;
use super::documents::{decode, is_json, split, Document};
use super::error::PolicyError;
use super::json_stream::{for_each_element, Item, Resource};
use super::load_support::{on_own_thread, release_free_heap, Claims, LARGE};
use super::resources::{
    CapDoc, CertAuthorityDoc, DeviceDoc, LockDoc, LoginState, Role, RoleDoc, User, UserDoc,
    UserLoginStateDoc,
};
use convert::{convert, Converted};
pub use policy_file::{read_bundle_texts, source_path_refusal, PathRule};
use policy_file::{read_policy_file, source_files};

/// What is read first from every document, to pick its type.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    kind: Option<String>,
}

/// Parses one bundle text (YAML documents, or JSON). `origin` names it in
/// errors and warnings.
pub fn load_bundle_str(text: &str, origin: &str) -> Result<Bundle, PolicyError> {
    if text.len() < LARGE {
        return load_str_here(text, origin);
    }
    on_own_thread(origin, || load_str_here(text, origin))
}

fn load_str_here(text: &str, origin: &str) -> Result<Bundle, PolicyError> {
    let mut loader = Loader::default();
    let (hasher, added) = beside(
        text.len() >= LARGE,
        || Sha256::new().chain_update(text.as_bytes()),
        || loader.add_text(text, origin),
    );
    added?;
    loader.refuse_empty(origin)?;
    let bundle = loader.finish(hasher);
    release_free_heap(text.len());
    Ok(bundle)
}

/// Loads a bundle from a file, or from a directory: every `*.yaml`, `*.yml`
/// and `*.json` file in it (not recursive, hidden files left out), sorted by
/// name, read as one bundle. Errors name the file they are in.
/// This is the agent's `cluster.source`: its path is held to
/// [`PathRule::Source`].
pub fn load_bundle_path(path: &Path) -> Result<Bundle, PolicyError> {
    load_bundle_under(path, PathRule::Source)
}

/// Loads a bundle file or directory named on a command line to be checked
/// or explained ([`PathRule::Argument`]: read wherever it is).
pub fn load_bundle_argument(path: &Path) -> Result<Bundle, PolicyError> {
    load_bundle_under(path, PathRule::Argument)
}

fn load_bundle_under(path: &Path, rule: PathRule) -> Result<Bundle, PolicyError> {
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < LARGE as u64);
    if small {
        return load_path_here(path, rule);
    }
    on_own_thread(&path.display().to_string(), || load_path_here(path, rule))
}

fn load_path_here(path: &Path, rule: PathRule) -> Result<Bundle, PolicyError> {
    let shown = path.display().to_string();
    // A file source is one file: no files is an empty directory.
    let files = source_files(path, rule)?;
    let mut loader = Loader::default();
    let mut hasher = Sha256::new();
    let mut read = 0usize;
    for file in &files {
        let origin = file.display().to_string();
        let bytes = read_policy_file(file, rule).map_err(|e| PolicyError::in_file(&origin, e))?;
        read += bytes.len();
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| PolicyError::in_file(&origin, format!("not UTF-8 text: {e}")))?;
        // The revision's hash on a second thread while a large file is read.
        let added;
        (hasher, added) = beside(
            bytes.len() >= LARGE,
            || hasher.chain_update(&bytes),
            || loader.add_text(text, &origin),
        );
        added?;
    }
    if files.is_empty() {
        return Err(PolicyError::in_file(
            &shown,
            "no *.yaml, *.yml or *.json files: no policy (an empty bundle would require MFA of nobody)",
        ));
    }
    loader.refuse_empty(&shown)?;
    let bundle = loader.finish(hasher);
    release_free_heap(read);
    Ok(bundle)
}

/// Loads one bundle from several named texts, in order (e.g. `mfactl
/// publish`'s inputs: tctl's output and the `--devices` files). Errors and
/// warnings name the text they are in; the revision hashes them all.
pub fn load_bundle_sources(sources: &[(String, String)]) -> Result<Bundle, PolicyError> {
    let mut loader = Loader::default();
    let mut hasher = Sha256::new();
    for (origin, text) in sources {
        hasher.update(text.as_bytes());
        loader.add_text(text, origin)?;
    }
    let shown: Vec<&str> = sources.iter().map(|(o, _)| o.as_str()).collect();
    loader.refuse_empty(&shown.join(", "))?;
    Ok(loader.finish(hasher))
}

/// A file of [`Loader::origins`] and a line in it.
type Place = (u32, u64);

/// Collects resources from one or more texts into a bundle.
#[derive(Default)]
struct Loader {
    /// Roles and users in bundle order (sorted by name at the end), each
    /// with its place; found by a hash of their name, for duplicates.
    roles: Vec<Role>,
    role_places: Vec<Place>,
    role_claims: Claims,
    users: Vec<User>,
    user_places: Vec<Place>,
    user_claims: Claims,
    /// `user_login_state`s in bundle order, each with its place, claimed
    /// by name as users are (applied to the users at the end).
    login_states: Vec<LoginState>,
    login_state_places: Vec<Place>,
    login_state_claims: Claims,
    cap: Option<super::resources::AuthPreference>,
    networking: Option<super::resources::NetworkingConfig>,
    locks: Vec<super::resources::Lock>,
    devices: Vec<super::resources::MfaDevice>,
    cert_authorities: Vec<super::resources::CertAuthority>,
    warnings: Vec<String>,
    /// Where the cap and each lock was first seen, for duplicate errors.
    seen: HashMap<(&'static str, String), Place>,
    /// The files read, in order.
    origins: Vec<String>,
    hasher: std::hash::RandomState,
    /// Where each of `devices` is.
    device_places: Vec<Place>,
    /// Devices by a hash of their user and name, and by a hash of their
    /// key (with the keys found twice).
    device_names: Claims,
    device_keys: devices::KeyClaims,
    /// Resources read on this thread share the names they repeat.
    _names: super::resources::SharedNames,
}

impl Loader {
    /// A bundle with no resource Teleport would use is refused rather than
    /// taken as a policy: with no roles and Teleport's default cap it would
    /// require MFA of nobody, so a truncated or misplaced bundle must not
    /// replace a good one (or stand in for "no policy": fail closed).
    fn refuse_empty(&self, origin: &str) -> Result<(), PolicyError> {
        let nothing = self.roles.is_empty()
            && self.users.is_empty()
            && self.login_states.is_empty()
            && self.cap.is_none()
            && self.locks.is_empty()
            && self.devices.is_empty()
            && self.cert_authorities.is_empty();
        if nothing {
            return Err(PolicyError::in_file(
                origin,
                "holds no role, user, user_login_state, cluster_auth_preference, lock, mfa_device or cert_authority: no policy (an empty bundle would require MFA of nobody)",
            ));
        }
        Ok(())
    }

    fn add_text(&mut self, text: &str, origin: &str) -> Result<(), PolicyError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if is_json(text) {
            // One resource a line in the publisher's form: room for the
            // duplicate checks at once, rather than growing (and hashing
            // every name again) a dozen times.
            let lines = text.bytes().filter(|&b| b == b'\n').count();
            let room = lines.min(text.len() / 48);
            self.user_claims.reserve(room / 3);
            self.device_names.reserve(room * 2 / 3);
            self.device_keys.reserve(room * 2 / 3);
            // A large array is read in two halves at once.
            if text.len() >= LARGE && parallel::add_halves(self, text, origin)?.is_some() {
                return Ok(());
            }
            // The publisher's form, an array of resources, in one pass;
            // when the text is not a well-formed array, the general way
            // below reports why.
            let streamed = for_each_element(text, origin, |item| match item {
                Item::Resource(resource, doc) => self.add_resource(resource, &doc, origin),
                Item::Document(doc) => self.add_document(&doc, origin),
            })?;
            if streamed.is_some() {
                return Ok(());
            }
        }
        for doc in split(text, origin)? {
            self.add_document(&doc, origin)?;
        }
        Ok(())
    }

    /// Records a name, or fails when it was seen before; `duplicate` words the
    /// error from where the first one was.
    fn claim(
        &mut self,
        what: &'static str,
        name: &str,
        doc: &Document<'_>,
        origin: &str,
        duplicate: impl FnOnce(&str) -> String,
    ) -> Result<(), PolicyError> {
        let key = (what, name.to_owned());
        if let Some(&first) = self.seen.get(&key) {
            return Err(PolicyError {
                file: origin.to_owned(),
                line: Some(doc.content_line),
                column: None,
                message: duplicate(&self.show(first)),
            });
        }
        let place = self.place_of(origin, doc);
        self.seen.insert(key, place);
        Ok(())
    }

    /// The place of `doc` in `origin`, for `seen` and `device_places`.
    fn place_of(&mut self, origin: &str, doc: &Document<'_>) -> Place {
        if self.origins.last().map(String::as_str) != Some(origin) {
            self.origins.push(origin.to_owned());
        }
        let file = u32::try_from(self.origins.len() - 1).unwrap_or(u32::MAX);
        (file, doc.content_line)
    }

    /// `FILE:LINE` of a place in `seen`.
    fn show(&self, (file, line): Place) -> String {
        let origin = self.origins.get(file as usize).map_or("", String::as_str);
        format!("{origin}:{line}")
    }

    fn add_document(&mut self, doc: &Document<'_>, origin: &str) -> Result<(), PolicyError> {
        let Some(envelope) = decode::<Option<Envelope>>(doc, origin)? else {
            return Ok(());
        };
        let kind = envelope
            .kind
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| doc_error(doc, origin, "resource has no kind".to_owned()))?;
        let resource = match kind.as_str() {
            "role" => Resource::Role(decode::<RoleDoc>(doc, origin)?),
            "user" => Resource::User(decode::<UserDoc>(doc, origin)?),
            "cluster_auth_preference" => Resource::Cap(decode::<CapDoc>(doc, origin)?),
            "lock" => Resource::Lock(decode::<LockDoc>(doc, origin)?),
            "mfa_device" => Resource::Device(decode::<DeviceDoc>(doc, origin)?),
            "cert_authority" => Resource::CertAuthority(decode::<CertAuthorityDoc>(doc, origin)?),
            "cluster_networking_config" => Resource::Networking(decode(doc, origin)?),
            "user_login_state" => Resource::LoginState(decode::<UserLoginStateDoc>(doc, origin)?),
            _ => Resource::Unknown(kind),
        };
        self.add_resource(resource, doc, origin)
    }

    /// A decoded resource, from `doc` (its place in the file).
    fn add_resource(
        &mut self,
        resource: Resource,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        let converted = convert(resource, doc, origin)?;
        self.add_converted(converted, doc, origin)
    }

    /// A resource after Teleport's defaults, claimed by name (or key) and
    /// kept.
    fn add_converted(
        &mut self,
        converted: Converted,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        match converted {
            Converted::Role(role) => self.add_role(*role, doc, origin)?,
            Converted::User(user, devices, warnings) => {
                for w in warnings {
                    self.warnings
                        .push(format!("{origin}:{}: {w}", doc.content_line));
                }
                self.add_user(user, devices, doc, origin)?
            }
            Converted::Cap(cap) => self.add_cap(*cap, doc, origin)?,
            Converted::Networking(n) => self.add_networking(*n, doc, origin)?,
            Converted::Lock(lock) => self.add_lock(*lock, doc, origin)?,
            Converted::Device(outcome) => self.add_device(outcome, doc, origin)?,
            Converted::CertAuthority(ca) => self.cert_authorities.push(*ca),
            Converted::LoginState(state) => self.add_login_state(*state, doc, origin)?,
            Converted::Unknown(other) => {
                self.warnings.push(format!(
                    "{origin}:{}: skipped unknown kind '{other}'",
                    doc.content_line
                ));
            }
        }
        Ok(())
    }

    fn add_role(
        &mut self,
        role: Role,
        doc: &Document<'_>,
        origin: &str,
    ) -> Result<(), PolicyError> {
        let hash = self.hasher.hash_one(role.name.as_str());
        let new = super::by_name::position(self.roles.len());
        let roles = &self.roles;
        if let Some(first) = self
            .role_claims
            .claim(hash, new, |r| roles[r as usize].name == role.name)
        {
            let first = self.show(self.role_places[first as usize]);
            return Err(doc_error(
                doc,
                origin,
                format!("duplicate role {:?} (first defined at {first})", role.name),
            ));
        }
        for (side, c) in [("allow", &role.allow), ("deny", &role.deny)] {
            let Some(expr) = &c.node_labels_expression else {
                continue;
            };
            if let Some(e) = expr.parse_error() {
                self.warnings.push(format!(
                    "{origin}:{}: role {:?} {side} node_labels_expression {:?} does not parse ({e}): the role loads, as in Teleport, and every login of its holders is denied",
                    doc.content_line,
                    role.name,
                    expr.source()
                ));
            }
        }
        let place = self.place_of(origin, doc);
        self.roles.push(role);
        self.role_places.push(place);
        Ok(())
    }
}

/// An error at the start of a document's content.
fn doc_error(doc: &Document<'_>, origin: &str, message: String) -> PolicyError {
    PolicyError {
        file: origin.to_owned(),
        line: Some(doc.content_line),
        column: None,
        message,
    }
}
