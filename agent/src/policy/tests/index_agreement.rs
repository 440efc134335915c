//! The bundle's indices answer exactly what a scan over every resource
//! answers, on generated bundles (fixed seeds) full of the awkward cases:
//! logins shared by several users, trait templates of every shape, roles
//! missing from the bundle, devices of unknown users, one blob under two key
//! types, locks on every target field, expired and unsupported locks, and
//! login states that replace users' roles and traits (or stand alone).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;

use super::support::{bundle, node, now, Ask};
use crate::policy::{
    find_lock, Access, Bundle, DeviceKind, LockSubject, MfaDevice, NodeInfo, User,
};

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const ROLES: usize = 30;
const USERS: usize = 120;
/// Fewer users where every user is decided for every login.
const FEW_USERS: usize = 60;
const SHARED_LOGINS: &[&str] = &["root", "ubuntu", "deploy", ""];
const ALLOW_LOGINS: &[&str] = &[
    "root",
    "deploy",
    "{{internal.logins}}",
    "{{ external.logins }}",
    "{{internal[\\\"unix\\\"]}}",
    "adm-{{internal.logins}}",
    "{{email.local(external.email)}}",
    "{{regexp.replace(internal.logins, \\\"^u(.*)$\\\", \\\"x$1\\\")}}",
    "{{internal.missing}}",
    "{{internal.logins",
];
const KEY_TYPES: &[&str] = &[
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

fn sk_blob(rng: &mut Rng, key_type: &str) -> String {
    let mut wire = Vec::new();
    wire.extend((key_type.len() as u32).to_be_bytes());
    wire.extend(key_type.as_bytes());
    wire.extend(32u32.to_be_bytes());
    wire.extend((0..4).flat_map(|_| rng.next().to_be_bytes()));
    wire.extend(4u32.to_be_bytes());
    wire.extend(b"ssh:");
    base64::engine::general_purpose::STANDARD.encode(wire)
}

fn quoted(list: &[String]) -> String {
    list.iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn generate(seed: u64, users: usize) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    for r in 0..ROLES {
        let allow: Vec<String> = (0..rng.below(3))
            .map(|_| {
                if rng.chance(30) {
                    format!("svc{}", rng.below(5))
                } else {
                    rng.pick(ALLOW_LOGINS).to_owned()
                }
            })
            .collect();
        let deny: Vec<String> = (0..usize::from(rng.chance(20)))
            .map(|_| rng.pick(&["root", "{{internal.logins}}"]).to_owned())
            .collect();
        let env = rng.pick(&["dev", "prod", "'*'"]);
        let mfa = rng.pick(&["false", "true", "hardware_key_touch"]);
        let _ = write!(
            out,
            "---\nkind: role\nversion: v7\nmetadata: {{name: r{r}}}\nspec:\n  options: {{require_session_mfa: {mfa}}}\n  allow:\n    logins: [{}]\n    node_labels: {{env: {env}}}\n  deny:\n    logins: [{}]\n",
            quoted(&allow),
            quoted(&deny)
        );
    }
    for u in 0..users {
        // Some roles are not in the bundle.
        let roles: Vec<String> = (0..rng.below(4))
            .map(|_| format!("r{}", rng.below(ROLES + 3)))
            .collect();
        let mut logins: Vec<String> = Vec::new();
        for _ in 0..rng.below(4) {
            logins.push(match rng.below(4) {
                0 => format!("u{u}"),
                1 => format!("u{}", rng.below(users)),
                2 => rng.pick(SHARED_LOGINS).to_owned(),
                _ => format!("svc{}", rng.below(5)),
            });
        }
        let mut traits = format!("    logins: [{}]\n", quoted(&logins));
        if rng.chance(50) {
            let _ = writeln!(traits, "    unix: [\"u{}\"]", rng.below(users));
        }
        if rng.chance(50) {
            let _ = writeln!(traits, "    email: [\"u{u}@example.com\"]");
        }
        let _ = write!(
            out,
            "---\nkind: user\nversion: v2\nmetadata: {{name: u{u}}}\nspec:\n  roles: [{}]\n  traits:\n{traits}",
            quoted(&roles)
        );
    }
    let mut blobs: Vec<String> = Vec::new();
    for d in 0..users * 2 {
        // Some devices belong to users the bundle does not have.
        let user = rng.below(users + 10);
        let key_type = rng.pick(KEY_TYPES);
        let blob = if rng.chance(5) {
            "AAAA".to_owned()
        } else {
            sk_blob(&mut rng, key_type)
        };
        if blobs.contains(&format!("{key_type} {blob}")) {
            continue;
        }
        blobs.push(format!("{key_type} {blob}"));
        let form = if rng.chance(10) {
            // One credential per device, as keys are.
            format!("webauthn: {{credential_id: Y3JlZA{d}, public_key_cbor: pQ==}}")
        } else {
            format!("ssh_sk: {{public_key: \"{key_type} {blob} c\"}}")
        };
        let _ = write!(
            out,
            "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: d{d}}}\nspec: {{id: id{d}, user: u{user}, {form}}}\n"
        );
    }
    login_states(seed, users, &mut out);
    for l in 0..40 {
        let mut fields = Vec::new();
        for field in [
            "user",
            "role",
            "login",
            "node",
            "server_id",
            "mfa_device",
            "device",
            "access_request",
            "bot_instance_id",
            "join_token",
        ] {
            if rng.chance(if field == "join_token" { 3 } else { 25 }) {
                let value = match field {
                    "bot_instance_id" if rng.chance(10) => "withheld".to_owned(),
                    "user" => format!("u{}", rng.below(users)),
                    // Some name a role the bundle does not hold.
                    "role" => format!("r{}", rng.below(ROLES + 3)),
                    "login" => format!("u{}", rng.below(users)),
                    "mfa_device" | "device" | "access_request" | "bot_instance_id" => {
                        format!("id{}", rng.below(users * 2))
                    }
                    "join_token" => format!("token{}", rng.below(3)),
                    _ => rng.pick(&["dev1", "prod3", "uuid-7"]).to_owned(),
                };
                fields.push(format!("{field}: {value}"));
            }
        }
        if fields.is_empty() || rng.chance(5) {
            fields.push("windows_desktop: desk1".to_owned());
        }
        let expires = if rng.chance(30) {
            "\n  expires: 2023-06-01T00:00:00Z"
        } else {
            ""
        };
        let _ = write!(
            out,
            "---\nkind: lock\nversion: v2\nmetadata: {{name: l{l}}}\nspec:\n  target: {{{}}}{expires}\n",
            fields.join(", ")
        );
    }
    out
}

/// `user_login_state`s (from a generator of their own, so the rest of the
/// bundle stays as it was): for some users, other roles and logins; and a
/// few with no user resource.
fn login_states(seed: u64, users: usize, out: &mut String) {
    let mut rng = Rng(seed ^ 0x1057);
    for u in 0..users + 5 {
        if u < users && !rng.chance(30) {
            continue;
        }
        let roles: Vec<String> = (0..rng.below(4))
            .map(|_| format!("r{}", rng.below(ROLES + 3)))
            .collect();
        let logins: Vec<String> = (0..rng.below(3))
            .map(|_| match rng.below(3) {
                0 => format!("u{}", rng.below(users)),
                1 => rng.pick(SHARED_LOGINS).to_owned(),
                _ => format!("svc{}", rng.below(5)),
            })
            .collect();
        let _ = write!(
            out,
            "---\nkind: user_login_state\nversion: v1\nmetadata: {{name: u{u}}}\nspec:\n  roles: [{}]\n  traits:\n    logins: [{}]\n",
            quoted(&roles),
            quoted(&logins)
        );
    }
}

/// Every login worth asking about: names, trait values, role logins, and a
/// few nobody has.
fn logins_of(b: &Bundle) -> BTreeSet<String> {
    let mut all: BTreeSet<String> = ["nobody", "", "adm-u1", "xu1", "svc0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for u in b.users().values() {
        all.insert(u.name.clone());
        all.extend(u.traits.iter().flat_map(|(_, v)| v.to_vec()));
    }
    for r in b.roles().values() {
        all.extend(r.allow.logins.iter().cloned());
    }
    all
}

fn names(users: &[&User]) -> Vec<String> {
    users.iter().map(|u| u.name.clone()).collect()
}

#[test]
fn indexed_lookups_agree_with_scans() {
    for seed in [1, 2, 3, 0x5eed] {
        let b = bundle(&generate(seed, USERS));
        // The users, and the login states without one.
        assert!(b.users().len() == USERS + 5 && b.devices().len() > USERS);
        assert!(
            b.users()
                .values()
                .filter(|u| u.login_state.is_some())
                .count()
                > USERS / 5
        );

        for login in logins_of(&b) {
            let scan: Vec<&User> = b
                .users()
                .values()
                .filter(|u| u.name == login || u.logins().contains(&login))
                .collect();
            assert_eq!(
                names(&b.users_for_login(&login)),
                names(&scan),
                "seed {seed} login {login:?}"
            );
        }

        let users: Vec<String> = (0..USERS + 12).map(|u| format!("u{u}")).collect();
        for user in &users {
            let scan: Vec<&MfaDevice> = b.devices().iter().filter(|d| *d.user == **user).collect();
            assert_eq!(b.devices_for_user(user), scan, "seed {seed} user {user}");
        }

        for d in b.devices() {
            let DeviceKind::SshSk { key_blob, .. } = &d.kind else {
                continue;
            };
            let b64 = d.kind.ssh_sk_blob_base64().expect("an ssh_sk key");
            for key_type in KEY_TYPES.iter().chain(&["ssh-ed25519"]) {
                let scan = b.devices().iter().find(|x| {
                    matches!(&x.kind, DeviceKind::SshSk { key_type: t, key_blob: k, .. }
                        if t == key_type && k == key_blob)
                });
                assert_eq!(
                    b.device_by_ssh_key(key_type, &b64),
                    scan,
                    "seed {seed} {key_type} {b64}"
                );
            }
        }
        assert_eq!(b.device_by_ssh_key(KEY_TYPES[0], "AAAAB3"), None);

        let mut rng = Rng(seed);
        let at = [now(), now() - Duration::from_secs(86400 * 400)];
        for _ in 0..2000 {
            let user = b
                .users()
                .values()
                .nth(rng.below(USERS))
                .filter(|_| rng.chance(80));
            let roles = user.map(|u| u.roles.clone()).unwrap_or_default();
            let device = format!("id{}", rng.below(USERS * 2));
            let login = format!("u{}", rng.below(USERS));
            let token = crate::policy::join_token_sha256(&format!("token{}", rng.below(3)));
            let subject = LockSubject {
                user: user.map(|u| u.name.as_str()),
                roles: &roles,
                login: &login,
                node: rng.pick(&["dev1", "prod3"]),
                node_id: rng.chance(50).then_some("uuid-7"),
                mfa_device: rng.chance(50).then_some(device.as_str()),
                cert_mfa_device: rng.chance(50).then_some(device.as_str()),
                device: rng.chance(50).then_some(device.as_str()),
                access_requests: if rng.chance(50) {
                    std::slice::from_ref(&device)
                } else {
                    &[]
                },
                bot: rng.chance(50),
                bot_instance_id: rng.chance(50).then_some(device.as_str()),
                join_token_sha256: rng.chance(50).then_some(token.as_str()),
                bundle_user: user
                    .filter(|_| rng.chance(50))
                    .and_then(|u| b.users().position_of(u)),
            };
            let when = at[rng.below(2)];
            assert_eq!(
                b.find_lock(&subject, when),
                find_lock(b.locks(), &subject, when),
                "seed {seed} {subject:?}"
            );
        }
    }
}

/// `users_who_may_have_login` may name too many users, never too few: every
/// user `decide` allows a login on some node is among them.
#[test]
fn login_candidates_hold_every_allowed_user() {
    // Nodes no lock names, so that locks on a whole node hide nothing.
    let nodes: Vec<NodeInfo> = vec![
        node("dev9", &[("env", "dev")]),
        node("prod9", &[("env", "prod")]),
    ];
    for seed in [1, 2, 3, 0x5eed] {
        // Without the locks (generated last): a lock that names a user locks
        // that user on every node, and would hide what this test looks for.
        let text = generate(seed, FEW_USERS);
        let b = bundle(text.split("---\nkind: lock").next().unwrap_or_default());
        let mut allowed_somewhere = 0;
        for login in logins_of(&b) {
            let candidates = names(&b.users_who_may_have_login(&login));
            let mut sorted = candidates.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(candidates, sorted, "sorted and each once");
            for n in &nodes {
                for user in b.users().values() {
                    let d = Ask::new(n, &login).user(&user.name).decide(&b);
                    if d.access == Access::Allow {
                        allowed_somewhere += 1;
                        assert!(
                            candidates.contains(&user.name),
                            "seed {seed}: {} may log in as {login:?} on {} but is not a candidate ({:?})",
                            user.name,
                            n.name,
                            d.reasons
                        );
                    }
                }
            }
        }
        assert!(
            allowed_somewhere > 30,
            "the bundle allows too little to test: {allowed_somewhere}"
        );
    }
}
