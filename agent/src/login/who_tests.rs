//! Who is logging in: a certificate beside a registered key, and the
//! nodes of a resource access request.

use std::time::{Duration, UNIX_EPOCH};

use super::super::flow_tests::{bundle, BLOB, OTHER_BLOB};
use super::*;
use crate::policy::load_bundle_str;

const CERT_TYPE: &str = "ssh-ed25519-cert-v01@openssh.com";
// Two certificate blobs (only their bytes matter here: the identity
// beside them is what verify_user_cert would have read).
const CERT: &str = "AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAAQ==";
const OTHER_CERT: &str = "AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAAg==";

fn key(key_type: &str, blob: &str) -> AcceptedKey {
    AcceptedKey {
        key_type: key_type.into(),
        blob: blob.into(),
    }
}

fn identity(user: &str, from_trusted_cluster: bool) -> TeleportIdentity {
    TeleportIdentity {
        key_id: user.into(),
        principals: vec!["root".into()],
        roles: Vec::new(),
        traits: Default::default(),
        mfa_verified: None,
        private_key_policy: None,
        trusted_device: false,
        device_id: None,
        bot: false,
        bot_instance_id: None,
        join_token_sha256: None,
        active_requests: Vec::new(),
        allowed_resources: None,
        previous_identity_expires: None,
        valid_after: UNIX_EPOCH,
        valid_before: UNIX_EPOCH + Duration::from_secs(u32::MAX.into()),
        ca_cluster: "example".into(),
        unmapped_roles: Vec::new(),
        from_trusted_cluster,
        subject_key_type: "ssh-ed25519".into(),
    }
}

fn presented<'b>(
    b: &'b Bundle,
    keys: Vec<AcceptedKey>,
    cert: Option<TeleportIdentity>,
) -> Presented<'b> {
    let registered = registered_devices(b, &keys);
    Presented {
        keys,
        registered,
        cert,
        cert_user: None,
        key_user: None,
    }
}

/// What ties a tap to a connection: the person's registered key, else
/// a certificate of this cluster naming them; nothing else.
#[test]
fn only_a_registered_key_or_this_clusters_certificate_identifies() {
    let b = load_bundle_str(&bundle("true", ""), "t.yaml").unwrap();
    let sk = |blob| key("sk-ssh-ed25519@openssh.com", blob);
    let plain = key("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIA==");
    let of = |keys, cert, user| presented(&b, keys, cert).connection_key(user);
    let alices_key = of(vec![sk(BLOB)], None, "alice").expect("her key");
    assert_eq!(alices_key.user(), "alice");
    assert_eq!(of(vec![sk(BLOB)], None, "bob"), None, "not bob's key");
    assert_eq!(of(vec![plain.clone()], None, "alice"), None, "a plain key");
    assert_eq!(
        of(vec![sk(OTHER_BLOB)], None, "alice"),
        None,
        "unregistered"
    );
    assert_eq!(of(Vec::new(), None, "alice"), None, "a password");

    let cert = || vec![plain.clone(), key(CERT_TYPE, CERT)];
    let by_cert = of(cert(), Some(identity("alice", false)), "alice").expect("her cert");
    assert_ne!(by_cert, alices_key);
    let other = vec![key(CERT_TYPE, OTHER_CERT)];
    assert_ne!(
        of(other, Some(identity("alice", false)), "alice"),
        Some(by_cert.clone()),
        "another certificate is another key"
    );
    assert_eq!(of(cert(), Some(identity("bob", false)), "alice"), None);
    assert_eq!(
        of(cert(), Some(identity("alice", true)), "alice"),
        None,
        "a trusted cluster's alice is not ours"
    );
    // Both: the registered key names the connection.
    let both = vec![sk(BLOB), key(CERT_TYPE, CERT)];
    assert_eq!(
        of(both, Some(identity("alice", false)), "alice"),
        Some(alices_key)
    );
}

/// Teleport's `checkAllowedResources`: a resource counts only when it
/// is a node of this cluster; each keeps what its request limited it to.
#[test]
fn an_access_requests_resources_reach_only_this_clusters_nodes() {
    use crate::verify::ssh_cert::ResourceId;
    let access = |text: &str, constraint: Option<ResourceConstraint>| {
        let (cluster, rest) = text.split_once('/').unwrap();
        let (kind, name) = rest.split_once('/').unwrap();
        ResourceAccess {
            id: ResourceId {
                cluster: cluster.into(),
                kind: kind.into(),
                name: name.into(),
            },
            constraint,
        }
    };
    let resources = [
        access("root/node/uuid-a", None),
        access("leaf/node/uuid-b", None),
        access("root/db/uuid-c", None),
        access(
            "root/node/uuid-d",
            Some(ResourceConstraint::SshLogins(vec!["deploy".into()])),
        ),
        access(
            "root/node/uuid-e",
            Some(ResourceConstraint::Other("database".into())),
        ),
    ];
    let node = |name: &str, limit: NodeLimit| AllowedNode {
        name: name.into(),
        limit,
    };
    assert_eq!(allowed_nodes(None, Some("root")), None);
    assert_eq!(
        allowed_nodes(Some(&resources), Some("root")),
        Some(vec![
            node("uuid-a", NodeLimit::Unconstrained),
            node("uuid-d", NodeLimit::Logins(vec!["deploy".into()])),
            node(
                "uuid-e",
                NodeLimit::Unsupported("a constraint of kind database".into())
            ),
        ])
    );
    assert_eq!(
        allowed_nodes(Some(&resources), Some("leaf")),
        Some(vec![node("uuid-b", NodeLimit::Unconstrained)])
    );
    // The cluster is compared exactly, as Teleport does.
    assert_eq!(
        allowed_nodes(Some(&resources), Some("Root")),
        Some(Vec::new())
    );
    // This cluster unknown: no node is one of the request's.
    assert_eq!(allowed_nodes(Some(&resources), None), Some(Vec::new()));
}
