//! A large, realistic bundle for the scale benchmark (`pam-mfa-bench-scale`),
//! generated from a seed, so every run writes the same bytes.
//!
//! The shape follows what `tctl get role,cap,user,lock --format=yaml` prints
//! for a big organisation, plus `mfa_device` resources in this project's
//! forms:
//! - roles in five kinds: development access (`env: dev`), production access
//!   with per-session MFA (`env: prod` and a region glob), team roles with a
//!   hardware-key policy and a literal deploy login, roles with deny rules
//!   (a node tier, or `root`), and roles whose logins come from other trait
//!   templates (`{{external.unix_logins}}`, `{{email.local(...)}}`); each
//!   carries fields hosts ignore (rules, options) as real output does;
//! - users with one to three roles, a `logins` trait (their own login, and
//!   for some a login shared by a team of eight), `unix_logins` and `email`
//!   traits, and the `created_by`/`status` noise of real output;
//! - devices, two per user in the full bundle: `ssh_sk` ed25519-sk keys
//!   (most), ecdsa-sk keys, and WebAuthn credentials. Key material is random
//!   bytes in the right wire format: the loader and the lookups only read
//!   the encoding, never the curve point;
//! - locks on users (some expired), roles, logins and devices.
//!
//! User `i` is `user{i}`, logs in as `u{i}`; device `d` belongs to user
//! `d % users`; [`device_ssh_key`] gives back any device's key, so a
//! benchmark can ask about real users and keys without keeping the bundle.

use std::io::{self, Write};

use base64::Engine as _;

mod resources;
mod writer;

pub use resources::role_name;
use resources::{cap, device, lock, role, user};
use writer::Writer;

/// The benchmark's seed.
pub const SEED: u64 = 0x5CA1_E000_0000_0005;

/// How many of each resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub roles: usize,
    pub users: usize,
    pub devices: usize,
    pub locks: usize,
}

impl Scale {
    /// The bundle: 10,000 roles, 100,000 users, 200,000 devices.
    pub const FULL: Scale = Scale {
        roles: 10_000,
        users: 100_000,
        devices: 200_000,
        locks: 1_000,
    };

    /// Every count divided by `n` (at least one of each).
    pub fn divided(self, n: usize) -> Scale {
        Scale {
            roles: (self.roles / n).max(1),
            users: (self.users / n).max(1),
            devices: (self.devices / n).max(1),
            locks: (self.locks / n).max(1),
        }
    }
}

/// The syntax to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

/// The node the benchmark decides on, and its labels (as agent.yaml gives them).
pub const NODE_NAME: &str = "prod3";
pub const NODE_LABELS: &[(&str, &str)] = &[
    ("env", "prod"),
    ("region", "eu-west-1"),
    ("team", "team-7"),
    ("tier", "web"),
];

pub fn user_name(i: usize) -> String {
    format!("user{i:06}")
}

pub fn user_login(i: usize) -> String {
    format!("u{i:06}")
}

/// splitmix64, keyed by a seed and a stream so that any resource can be
/// made again on its own.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD605_BBB5_8C8A_BBE5));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n.div_ceil(8))
            .flat_map(|_| self.next_u64().to_le_bytes())
            .take(n)
            .collect()
    }
}

const STREAM_ROLE: u64 = 1 << 40;
const STREAM_USER: u64 = 2 << 40;
const STREAM_DEVICE: u64 = 3 << 40;
const STREAM_LOCK: u64 = 4 << 40;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend((s.len() as u32).to_be_bytes());
    out.extend(s);
}

/// A device's form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DeviceForm {
    /// Key type and the authorized_keys base64 blob.
    SshSk(&'static str, String),
    /// credential_id, public_key_cbor, aaguid (base64).
    Webauthn(String, String, String),
}

fn device_form(seed: u64, d: usize) -> DeviceForm {
    let mut rng = Rng::new(seed, STREAM_DEVICE | d as u64);
    match d % 10 {
        0 => DeviceForm::Webauthn(
            b64(&rng.bytes(32)),
            b64(&rng.bytes(77)),
            b64(&rng.bytes(16)),
        ),
        1 | 2 => {
            let key_type = "sk-ecdsa-sha2-nistp256@openssh.com";
            let mut point = vec![4u8];
            point.extend(rng.bytes(64));
            let mut wire = Vec::new();
            ssh_string(&mut wire, key_type.as_bytes());
            ssh_string(&mut wire, b"nistp256");
            ssh_string(&mut wire, &point);
            ssh_string(&mut wire, b"ssh:");
            DeviceForm::SshSk(key_type, b64(&wire))
        }
        _ => {
            let key_type = "sk-ssh-ed25519@openssh.com";
            let mut wire = Vec::new();
            ssh_string(&mut wire, key_type.as_bytes());
            ssh_string(&mut wire, &rng.bytes(32));
            ssh_string(&mut wire, b"ssh:");
            DeviceForm::SshSk(key_type, b64(&wire))
        }
    }
}

/// Device `d`'s `ssh_sk` key (type, base64 blob), or `None` for a WebAuthn one.
pub fn device_ssh_key(seed: u64, d: usize) -> Option<(&'static str, String)> {
    match device_form(seed, d) {
        DeviceForm::SshSk(t, blob) => Some((t, blob)),
        DeviceForm::Webauthn(..) => None,
    }
}

/// The user device `d` belongs to.
pub fn device_user(scale: Scale, d: usize) -> usize {
    d % scale.users
}

/// Writes the bundle.
pub fn write_bundle(scale: Scale, seed: u64, format: Format, w: &mut dyn Write) -> io::Result<()> {
    let mut out = Writer::new(format, w)?;
    out.doc(&cap())?;
    for r in 0..scale.roles {
        out.doc(&role(seed, r))?;
    }
    for u in 0..scale.users {
        out.doc(&user(seed, scale, u))?;
    }
    for d in 0..scale.devices {
        out.doc(&device(seed, scale, d))?;
    }
    for l in 0..scale.locks {
        out.doc(&lock(seed, scale, l))?;
    }
    out.finish()
}

/// A resource as a JSON value (the YAML writer prints the same tree in
/// block style, as tctl does).
type Doc = serde_json::Value;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_are_the_same_bundle() {
        let scale = Scale::FULL.divided(1000);
        let mut yaml = Vec::new();
        let mut json = Vec::new();
        write_bundle(scale, SEED, Format::Yaml, &mut yaml).unwrap();
        write_bundle(scale, SEED, Format::Json, &mut json).unwrap();
        let y = mfa_agent::policy::load_bundle_str(std::str::from_utf8(&yaml).unwrap(), "y")
            .unwrap_or_else(|e| panic!("{e}"));
        let j = mfa_agent::policy::load_bundle_str(std::str::from_utf8(&json).unwrap(), "j")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(y.roles(), j.roles());
        assert_eq!(y.users(), j.users());
        assert_eq!(y.devices(), j.devices());
        assert_eq!(y.locks(), j.locks());
        assert_eq!(y.roles().len(), scale.roles);
        assert_eq!(y.users().len(), scale.users);
        assert_eq!(y.devices().len(), scale.devices);
        assert_eq!(y.locks().len(), scale.locks);
        assert!(y.warnings.is_empty(), "{:?}", y.warnings);
        let (t, blob) = device_ssh_key(SEED, 5).unwrap();
        let dev = y.device_by_ssh_key(t, &blob).expect("device 5's key");
        assert_eq!(*dev.user, user_name(device_user(scale, 5)));
    }
}
