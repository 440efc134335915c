//! The allowlist copy, kind by kind: what is kept, hashed, masked or refused.

use super::*;
use serde_json::json;

fn copy_kind(v: &Value) -> (Result<Option<Value>, Refusal>, Dropped) {
    let mut d = Dropped::default();
    (copy_resource(v["kind"].as_str().unwrap(), v, &mut d), d)
}

#[test]
fn a_user_keeps_roles_traits_and_public_device_parts_only() {
    let user = json!({
        "kind": "user", "version": "v2",
        "metadata": {"name": "alice", "revision": "r", "labels": {"a": "b"}},
        "spec": {
            "roles": ["access"], "traits": {"logins": ["alice"]},
            "created_by": {"time": "2024-01-01T00:00:00Z"},
            "local_auth": {
                "password_hash": "JDJhJDEwJGFiY2RlZmdoaWprbG1ub3BxcnN0dXY=",
                "totp_key": "JBSWY3DPEHPK3PXPJBSW",
                "webauthn": {"user_id": "dXNlci1oYW5kbGUtdXNlci1oYW5kbGU="},
                "mfa": [
                    {"kind": "mfa_device", "metadata": {"name": "otp"}, "id": "1",
                     "totp": {"key": "JBSWY3DPEHPK3PXPJBSW"}},
                    {"kind": "mfa_device", "metadata": {"name": "yk"}, "id": "2",
                     "webauthn": {"credentialId": "Y3JlZA==", "publicKeyCbor": "pQECAyYgASFYIA==",
                                  "credentialBackupEligible": true, "credentialBackedUp": false,
                                  "attestationObject": "o2NmbXQ="}}
                ]
            }
        }
    });
    let (kept, d) = copy_kind(&user);
    let kept = kept.unwrap().unwrap();
    assert_eq!(
        kept,
        json!({
            "kind": "user", "version": "v2", "metadata": {"name": "alice"},
            "spec": {
                "roles": ["access"], "traits": {"logins": ["alice"]},
                "local_auth": {"mfa": [
                    {"kind": "mfa_device", "metadata": {"name": "yk"}, "id": "2",
                     "webauthn": {"credentialId": "Y3JlZA==", "publicKeyCbor": "pQECAyYgASFYIA==",
                                  // the flags Teleport recorded: the agent holds taps to them
                                  "credentialBackupEligible": true, "credentialBackedUp": false}}
                ]}
            }
        })
    );
    assert_eq!(d.secret_fields, 4);
    assert!(d.secret_values.contains(&"JBSWY3DPEHPK3PXPJBSW".to_owned()));
    // A device document with only a secret form is left out whole.
    let totp = json!({"kind": "mfa_device", "version": "v1", "metadata": {"name": "t"},
        "spec": {"user": "alice", "totp": {"key": "JBSWY3DPEHPK3PXPJBSW"}}});
    assert_eq!(copy_kind(&totp).0.unwrap(), None);
    assert_eq!(
        copy_kind(&json!({"kind": "github", "spec": {"client_secret": "x"}}))
            .0
            .unwrap(),
        None
    );
}

/// What `tctl get user_login_state` prints: the roles, traits and
/// expiry are kept; the original roles and traits, the user type and
/// the revision are not.
#[test]
fn a_user_login_state_keeps_roles_traits_and_expiry() {
    let state = json!({"kind": "user_login_state", "version": "v1",
        "metadata": {"name": "alice", "expires": "2030-01-01T00:00:00Z", "revision": "r",
                     "labels": {"teleport.dev/origin": "okta"}},
        "spec": {"original_roles": ["dev"], "original_traits": {"logins": ["a"]},
                 "roles": ["dev", "prod"], "traits": {"logins": ["alice"]},
                 "user_type": "sso", "github_identity": {"UserID": "1", "Username": "a"}}});
    let (kept, d) = copy_kind(&state);
    assert_eq!(
        kept.unwrap().unwrap(),
        json!({"kind": "user_login_state", "version": "v1",
            "metadata": {"name": "alice", "expires": "2030-01-01T00:00:00Z"},
            "spec": {"roles": ["dev", "prod"], "traits": {"logins": ["alice"]}}})
    );
    assert_eq!(d.secret_fields, 0);
}

#[test]
fn networking_config_keeps_the_idle_timeout_only() {
    let net = json!({"kind": "cluster_networking_config", "version": "v2",
        "metadata": {"name": "cluster-networking-config", "revision": "r"},
        "spec": {"client_idle_timeout": "15m", "keep_alive_interval": "5m",
                 "proxy_listener_mode": 1}});
    let kept = copy_kind(&net).0.unwrap().unwrap();
    assert_eq!(kept["spec"], json!({"client_idle_timeout": "15m"}));
    assert_eq!(kept["kind"], "cluster_networking_config");
}

#[test]
fn an_unknown_field_with_key_material_is_refused_by_path() {
    let ca = json!({
        "kind": "cert_authority", "version": "v2", "metadata": {"name": "c"},
        "spec": {"type": "user", "active_keys": {"ssh": [
            {"public_key": "c3NoLWVkMjU1MTk=", "private_key": "secret",
             "escrow": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}
        ]}}
    });
    let (r, _) = copy_kind(&ca);
    assert_eq!(
        r.unwrap_err(),
        Refusal {
            path: "spec.active_keys.ssh[0].escrow".into(),
            why: "a PEM block"
        }
    );
    // An unknown field without key material is dropped quietly.
    let mut ok = ca.clone();
    ok["spec"]["active_keys"]["ssh"][0]["escrow"] = json!("none");
    ok["spec"]["future"] = json!({"n": 3});
    let (r, d) = copy_kind(&ok);
    let kept = r.unwrap().unwrap();
    assert_eq!(
        kept["spec"]["active_keys"]["ssh"][0],
        json!({"public_key": "c3NoLWVkMjU1MTk="})
    );
    assert!(kept["spec"].get("future").is_none());
    assert_eq!(d.secret_fields, 1);
}

#[test]
fn snake_case_device_fields_are_the_same_fields() {
    let user = json!({"kind": "user", "version": "v2", "metadata": {"name": "a"},
        "spec": {"local_auth": {"mfa": [{"name": "k", "id": "1", "added_at": "2020-01-01T00:00:00Z",
            "u2f": {"key_handle": "a2g=", "pub_key": "BAQE", "counter": 2}}]}}});
    let (r, _) = copy_kind(&user);
    assert_eq!(r.unwrap().unwrap(), user);
}

#[test]
fn lock_targets_keep_fields_hosts_cannot_judge() {
    let lock = json!({"kind": "lock", "version": "v2", "metadata": {"name": "l"},
        "spec": {"target": {"user": "bob", "windows_desktop": "w1", "device": ""},
            "created_by": "x"}});
    let (r, _) = copy_kind(&lock);
    let kept = r.unwrap().unwrap();
    assert_eq!(
        kept["spec"],
        json!({"target": {"user": "bob", "windows_desktop": "withheld", "device": ""}})
    );
    // `device` is read by the agent, so kept; checked, so a key there
    // stops the publication.
    let mut leaky = lock.clone();
    leaky["spec"]["target"]["device"] = json!("$2a$10$abcdefghijklmnopqrstuv");
    assert_eq!(
        copy_kind(&leaky).0.unwrap_err(),
        Refusal {
            path: "spec.target.device".into(),
            why: "a password hash"
        }
    );
}

/// Bot targets reach the agent: the bot instance as it is, the join
/// token as its SHA-256 only (a `token` join method's token name is its
/// secret: 32 hex digits, below the key-material check).
#[test]
fn bot_lock_targets_are_published_the_join_token_hashed() {
    let token = "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";
    let instance = "2f1c6a8e-7b4d-4e0f-9a31-5c2d8e6f7a10";
    let lock = json!({"kind": "lock", "version": "v2", "metadata": {"name": "l"},
        "spec": {"target": {"bot_instance_id": instance, "join_token": token}}});
    let (r, d) = copy_kind(&lock);
    let kept = r.unwrap().unwrap();
    assert_eq!(
        kept["spec"],
        json!({"target": {"bot_instance_id": instance,
            "join_token_sha256": crate::policy::join_token_sha256(token)}})
    );
    assert!(!kept.to_string().contains(token));
    assert_eq!(d.secret_values, vec![token.to_owned()]);
    // As the agent reads it: the same lock as tctl's output.
    let published = crate::policy::load_bundle_str(&kept.to_string(), "p").unwrap();
    let input = crate::policy::load_bundle_str(&lock.to_string(), "i").unwrap();
    assert_eq!(published.locks(), input.locks());
}

/// A role's idle limit is published: the agent ends an idle session by it
/// (policy/session_terms.rs), and dropping it made the publisher's own
/// check refuse every bundle with such a role.
#[test]
fn a_roles_idle_timeout_is_published() {
    for timeout in [json!("5m0s"), json!("5m"), json!("never")] {
        let role = json!({"kind": "role", "version": "v7", "metadata": {"name": "r"},
            "spec": {"options": {"client_idle_timeout": timeout, "max_session_ttl": "8h"}}});
        assert_eq!(
            copy_kind(&role).0.unwrap().unwrap()["spec"],
            json!({"options": {"client_idle_timeout": timeout}}),
            "{timeout}"
        );
    }
}

/// What decides a login is published: a resource's expiry (Teleport
/// deletes it then), a user's login lock, a role's device_trust_mode
/// and disconnect_expired_cert, the cap's device trust mode.
#[test]
fn expiry_and_device_trust_are_published() {
    let exp = "2030-01-01T00:00:00Z";
    let role = json!({"kind": "role", "version": "v7",
        "metadata": {"name": "r", "expires": exp},
        "spec": {"options": {"device_trust_mode": "required", "max_session_ttl": "8h",
            "disconnect_expired_cert": true}}});
    assert_eq!(
        copy_kind(&role).0.unwrap().unwrap(),
        json!({"kind": "role", "version": "v7", "metadata": {"name": "r", "expires": exp},
            "spec": {"options": {"device_trust_mode": "required", "disconnect_expired_cert": true}}})
    );
    let user = json!({"kind": "user", "version": "v2", "metadata": {"name": "a"},
        "spec": {"roles": ["r"], "expires": exp,
            "status": {"is_locked": true, "lock_expires": exp, "locked_message": "m"}}});
    assert_eq!(
        copy_kind(&user).0.unwrap().unwrap()["spec"],
        json!({"roles": ["r"], "expires": exp,
            "status": {"is_locked": true, "lock_expires": exp}})
    );
    let cap = json!({"kind": "cluster_auth_preference", "version": "v2",
        "metadata": {"name": "cluster-auth-preference"},
        "spec": {"device_trust": {"mode": "required", "auto_enroll": true}}});
    assert_eq!(
        copy_kind(&cap).0.unwrap().unwrap()["spec"],
        json!({"device_trust": {"mode": "required"}})
    );
}
