//! The generated resources, each from the seed and its number alone.

use super::{
    device_form, device_user, user_login, user_name, DeviceForm, Doc, Rng, Scale, STREAM_DEVICE,
    STREAM_LOCK, STREAM_ROLE, STREAM_USER,
};

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

pub(super) fn cap() -> Doc {
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

pub(super) fn role(seed: u64, r: usize) -> Doc {
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

pub(super) fn user(seed: u64, scale: Scale, u: usize) -> Doc {
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

pub(super) fn device(seed: u64, scale: Scale, d: usize) -> Doc {
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

pub(super) fn lock(seed: u64, scale: Scale, l: usize) -> Doc {
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
