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

use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;

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
    /// The issue's bundle: 10,000 roles, 100,000 users, 200,000 devices.
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

struct Writer<'w> {
    format: Format,
    w: &'w mut dyn Write,
    first: bool,
    buf: String,
}

impl<'w> Writer<'w> {
    fn new(format: Format, w: &'w mut dyn Write) -> io::Result<Writer<'w>> {
        if format == Format::Json {
            w.write_all(b"[\n")?;
        }
        Ok(Writer {
            format,
            w,
            first: true,
            buf: String::new(),
        })
    }

    fn doc(&mut self, doc: &Doc) -> io::Result<()> {
        self.buf.clear();
        match self.format {
            Format::Json => {
                if !self.first {
                    self.buf.push_str(",\n");
                }
                self.buf.push_str(&serde_json::to_string(doc)?);
            }
            Format::Yaml => {
                self.buf.push_str("---\n");
                yaml_block(&mut self.buf, doc, 0);
            }
        }
        self.first = false;
        self.w.write_all(self.buf.as_bytes())
    }

    fn finish(self) -> io::Result<()> {
        if self.format == Format::Json {
            self.w.write_all(b"\n]\n")?;
        }
        self.w.flush()
    }
}

/// A scalar as YAML: plain when it is a safe word, else double-quoted (JSON
/// string syntax is valid YAML).
fn yaml_scalar(v: &Doc) -> String {
    match v {
        Doc::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
                );
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).expect("a string serializes")
            }
        }
        other => other.to_string(),
    }
}

fn yaml_block(out: &mut String, v: &Doc, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Doc::Object(map) => {
            for (k, val) in map {
                let key = yaml_scalar(&Doc::String(k.clone()));
                match val {
                    Doc::Object(m) if !m.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        yaml_block(out, val, indent + 2);
                    }
                    Doc::Array(a) if !a.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        yaml_block(out, val, indent);
                    }
                    Doc::Object(_) => {
                        let _ = writeln!(out, "{pad}{key}: {{}}");
                    }
                    Doc::Array(_) => {
                        let _ = writeln!(out, "{pad}{key}: []");
                    }
                    scalar => {
                        let _ = writeln!(out, "{pad}{key}: {}", yaml_scalar(scalar));
                    }
                }
            }
        }
        Doc::Array(items) => {
            for item in items {
                match item {
                    Doc::Object(m) if !m.is_empty() => {
                        // `- ` then the mapping, its first key on the dash line.
                        let mut inner = String::new();
                        yaml_block(&mut inner, item, indent + 2);
                        let inner = inner.trim_start();
                        let _ = write!(out, "{pad}- {inner}");
                    }
                    other => {
                        let _ = writeln!(out, "{pad}- {}", yaml_scalar(other));
                    }
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", yaml_scalar(scalar));
        }
    }
}

fn uuid(rng: &mut Rng) -> String {
    let b = rng.bytes(16);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn cap() -> Doc {
    serde_json::json!({
        "kind": "cluster_auth_preference",
        "version": "v2",
        "metadata": {"name": "cluster-auth-preference", "labels": {"teleport.dev/origin": "dynamic"}},
        "spec": {
            "type": "local",
            "second_factor": "on",
            "require_session_mfa": false,
            "locking_mode": "best_effort",
            "webauthn": {"rp_id": "example.com"},
            "allow_passwordless": true,
            "default_session_ttl": "12h0m0s"
        }
    })
}

const RULES: &str = r#"[{"resources": ["event", "session"], "verbs": ["list", "read"]}]"#;

fn role(seed: u64, r: usize) -> Doc {
    let mut rng = Rng::new(seed, STREAM_ROLE | r as u64);
    let team = format!("team-{}", r % 50);
    let (name, allow, deny, mfa) = match r % 10 {
        0..=3 => (
            format!("dev-{r:05}"),
            serde_json::json!({
                "logins": ["{{internal.logins}}"],
                "node_labels": {"env": ["dev", "staging"], "team": team},
            }),
            serde_json::json!({}),
            Doc::Bool(false),
        ),
        4..=6 => (
            format!("prod-{r:05}"),
            serde_json::json!({
                "logins": ["{{internal.logins}}"],
                "node_labels": {"env": "prod", "region": ["eu-*", "us-*"]},
            }),
            serde_json::json!({}),
            Doc::Bool(true),
        ),
        7 => (
            format!("deploy-{r:05}"),
            serde_json::json!({
                "logins": ["{{internal.logins}}", format!("deploy-{}", r % 97)],
                "node_labels": {"team": team, "tier": ["web", "worker"]},
            }),
            serde_json::json!({}),
            Doc::String(["hardware_key_touch", "hardware_key", "true"][rng.below(3)].to_owned()),
        ),
        8 => (
            format!("restricted-{r:05}"),
            serde_json::json!({
                "logins": ["{{internal.logins}}"],
                "node_labels": {"*": "*"},
            }),
            if rng.below(2) == 0 {
                serde_json::json!({"node_labels": {"env": "prod", "tier": "db"}})
            } else {
                serde_json::json!({"logins": ["root"]})
            },
            Doc::Bool(false),
        ),
        _ => (
            format!("sso-{r:05}"),
            serde_json::json!({
                "logins": ["{{external.unix_logins}}", "{{email.local(external.email)}}"],
                "node_labels": {"env": ["prod", "dev"], "team": format!("^team-[0-9]*{}$", r % 10)},
            }),
            serde_json::json!({}),
            Doc::String(
                if r % 20 == 9 {
                    "hardware_key_pin"
                } else {
                    "false"
                }
                .to_owned(),
            ),
        ),
    };
    let mut allow = allow;
    allow["rules"] = serde_json::from_str(RULES).expect("rules");
    serde_json::json!({
        "kind": "role",
        "version": "v7",
        "metadata": {"name": name, "revision": uuid(&mut rng), "description": format!("generated role {r}")},
        "spec": {
            "allow": allow,
            "deny": deny,
            "options": {
                "require_session_mfa": mfa,
                "max_session_ttl": "30h0m0s",
                "forward_agent": false,
                "cert_format": "standard",
                "enhanced_recording": ["command", "network"]
            }
        }
    })
}

/// Role names, as [`role`] makes them.
pub fn role_name(r: usize) -> String {
    let kind = match r % 10 {
        0..=3 => "dev",
        4..=6 => "prod",
        7 => "deploy",
        8 => "restricted",
        _ => "sso",
    };
    format!("{kind}-{r:05}")
}

fn user(seed: u64, scale: Scale, u: usize) -> Doc {
    let mut rng = Rng::new(seed, STREAM_USER | u as u64);
    let roles: Vec<String> = (0..1 + rng.below(3))
        .map(|_| role_name(rng.below(scale.roles)))
        .collect();
    let mut logins = vec![user_login(u)];
    if rng.below(4) == 0 {
        logins.push(format!("ops-{}", u / 8));
    }
    if rng.below(8) == 0 {
        logins.push(format!("{}-admin", user_login(u)));
    }
    serde_json::json!({
        "kind": "user",
        "version": "v2",
        "metadata": {"name": user_name(u), "revision": uuid(&mut rng)},
        "spec": {
            "roles": roles,
            "traits": {
                "logins": logins,
                "unix_logins": [format!("{}x", user_login(u))],
                "email": [format!("{}@example.com", user_name(u))],
                "kubernetes_groups": null,
            },
            "created_by": {"time": "2025-03-01T10:00:00Z", "user": {"name": "okta"}},
            "expires": "0001-01-01T00:00:00Z",
            "status": {"is_locked": false, "lock_expires": "0001-01-01T00:00:00Z", "locked_time": "0001-01-01T00:00:00Z"}
        }
    })
}

fn device(seed: u64, scale: Scale, d: usize) -> Doc {
    let owner = device_user(scale, d);
    let mut rng = Rng::new(seed, STREAM_DEVICE | (1 << 39) | d as u64);
    let form = match device_form(seed, d) {
        DeviceForm::SshSk(key_type, blob) => serde_json::json!({
            "ssh_sk": {"public_key": format!("{key_type} {blob} {}@laptop", user_name(owner))}
        }),
        DeviceForm::Webauthn(cred, cose, aaguid) => serde_json::json!({
            "webauthn": {"credential_id": cred, "public_key_cbor": cose, "aaguid": aaguid,
                         "attestation_type": "packed", "signature_counter": 0}
        }),
    };
    let mut spec = serde_json::json!({
        "id": uuid(&mut rng),
        "user": user_name(owner),
        "added_at": "2025-03-01T10:00:00Z",
        "last_used": "2025-11-20T08:00:00Z",
    });
    for (k, v) in form.as_object().expect("an object") {
        spec[k] = v.clone();
    }
    serde_json::json!({
        "kind": "mfa_device",
        "version": "v1",
        "metadata": {"name": format!("{}-key{}", user_name(owner), d / scale.users)},
        "spec": spec,
    })
}

fn lock(seed: u64, scale: Scale, l: usize) -> Doc {
    let mut rng = Rng::new(seed, STREAM_LOCK | l as u64);
    let target = match l % 4 {
        0 => serde_json::json!({"user": user_name(rng.below(scale.users))}),
        1 => serde_json::json!({"role": role_name(rng.below(scale.roles))}),
        2 => serde_json::json!({"login": user_login(rng.below(scale.users))}),
        _ => {
            serde_json::json!({"mfa_device": "00000000-0000-4000-8000-000000000000", "user": user_name(rng.below(scale.users))})
        }
    };
    let mut spec = serde_json::json!({
        "target": target,
        "message": format!("generated lock {l}"),
        "created_at": "2025-11-01T00:00:00Z",
        "created_by": "security",
    });
    if l.is_multiple_of(3) {
        spec["expires"] = Doc::String("2025-01-01T00:00:00Z".to_owned());
    }
    serde_json::json!({
        "kind": "lock",
        "version": "v2",
        "metadata": {"name": format!("lock-{l:05}")},
        "spec": spec,
    })
}

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
