//! Who is logging in: a certificate beside a registered key, and the
//! nodes of a resource access request.

use std::time::{Duration, UNIX_EPOCH};

use super::super::flow_tests::{bundle, BLOB, OTHER_BLOB};
use super::*;
use crate::policy::load_bundle_str;
use crate::verify::ssh_cert::Issuer;

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
        issuer: Issuer::UserCa,
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

/// Teleport's proxy logging in to this host as an agentless node: a
/// certificate of this cluster's openssh CA (lib/auth
/// `GenerateOpenSSHCert`), for alice with role prod, login root.
mod agentless {
    use pam_mfa_protocol::{PamHook, ResponseBody};

    use super::super::super::backup_eligible_tests::{entry, key, outcome, policy, RP};
    use super::super::super::flow_tests::{denied_with, Fixture, ALLOW};
    use super::super::super::tap::Step;
    use super::super::super::user_cert_keys::UserCertKeys;
    use crate::fido2::soft::SoftAuthenticator;

    const CLUSTER: &str = "example.com";
    const TRAITS: &str = r#"teleport-traits={"logins":["root"]}"#;

    /// Role prod requiring `require`, alice with one registered device,
    /// this cluster's user CA and the openssh CA of `openssh_cluster`.
    fn fixture(
        tag: &str,
        require: &str,
        openssh_cluster: &str,
    ) -> (UserCertKeys, Fixture, SoftAuthenticator) {
        let keys = UserCertKeys::new(&format!("agentless-{tag}"));
        let tap_key = key(RP, b"alice-agentless", false);
        let bundle = format!(
            "{}---\n{}---\n{}",
            policy(require, &entry(&tap_key, Some(false))),
            keys.cert_authority(CLUSTER),
            keys.openssh_cert_authority(openssh_cluster)
        );
        (keys, Fixture::new(&bundle, ""), tap_key)
    }

    fn alice(keys: &UserCertKeys, extensions: &[&str]) -> String {
        let mut all = vec![TRAITS, "private-key-policy=web_session"];
        all.extend_from_slice(extensions);
        keys.agentless_auth_info("alice", &["prod"], &all)
    }

    /// Before, every such login was refused ("only user CAs sign login
    /// certificates"), where no MFA is required too.
    #[test]
    fn this_clusters_openssh_certificate_logs_in_where_no_mfa_is_required() {
        let (keys, f, _) = fixture("no-mfa", "false", CLUSTER);
        assert_eq!(f.login(Some(&alice(&keys, &[])), "10.0.0.1"), ALLOW);
        // Its roles decide: none that reaches this node, no login.
        let nobody = keys.agentless_auth_info("alice", &["elsewhere"], &[TRAITS]);
        assert!(matches!(
            f.login(Some(&nobody), "10.0.0.1"),
            ResponseBody::Deny { .. }
        ));
    }

    /// It is no evidence of a tap: where MFA is required the login asks for
    /// one, as with a plain key, and a tap by alice's device lets it in.
    #[test]
    fn an_openssh_certificate_is_no_mfa() {
        let (keys, f, mut tap_key) = fixture("mfa", "true", CLUSTER);
        let info = alice(&keys, &[]);
        assert!(matches!(
            f.login(Some(&info), "10.0.0.1"),
            ResponseBody::Deny { .. }
        ));
        let step = f.begin(PamHook::Auth, Some(&info), "10.0.0.1");
        assert!(matches!(step, Step::Ask(..)), "no tap asked");
        assert_eq!(outcome(&f, step, &mut tap_key, RP), Ok(()));
    }

    /// `mfa-verified` (or a hardware key policy) in it is not Teleport's:
    /// refused outright, even where no MFA is required.
    #[test]
    fn smuggled_mfa_refuses_it() {
        let (keys, f, _) = fixture("smuggled", "false", CLUSTER);
        for extra in ["mfa-verified=id-passkey", "teleport-device-id=d1"] {
            let body = f.login(Some(&alice(&keys, &[extra])), "10.0.0.1");
            denied_with(&body, "your certificate is not accepted");
            denied_with(&body, "Teleport never signs there");
        }
        let touch = keys.agentless_auth_info(
            "alice",
            &["prod"],
            &[TRAITS, "private-key-policy=hardware_key_touch"],
        );
        denied_with(
            &f.login(Some(&touch), "10.0.0.1"),
            "your certificate is not accepted",
        );
    }

    /// In a leaf cluster (the bundle trusts a root cluster's user CA), the
    /// leaf's openssh CA also signs for root users, with their own root
    /// role names and traits (lib/agentless `SignerFromAuthzContext`): a
    /// root user's `prod` would be read as this cluster's `prod`, with no
    /// role_map. Refused there, even where no MFA is required.
    #[test]
    fn in_a_leaf_cluster_the_openssh_certificate_is_refused() {
        let keys = UserCertKeys::new("agentless-leaf");
        let tap_key = key(RP, b"alice-agentless", false);
        let root_ca = format!(
            "{}  role_map:\n  - {{remote: prod, local: [prod]}}\n",
            keys.cert_authority("root.example.com")
        );
        let bundle = format!(
            "{}---\n{}---\n{}---\n{}",
            policy("false", &entry(&tap_key, Some(false))),
            keys.cert_authority(CLUSTER),
            root_ca,
            keys.openssh_cert_authority(CLUSTER)
        );
        let f = Fixture::new(&bundle, "");
        let body = f.login(Some(&alice(&keys, &[])), "10.0.0.1");
        denied_with(&body, "your certificate is not accepted");
        denied_with(&body, "trusted cluster root.example.com");
    }

    /// The openssh CA of another cluster (a root shares its own with its
    /// leaves) signs nothing here.
    #[test]
    fn another_clusters_openssh_ca_is_refused() {
        let (keys, f, _) = fixture("other", "false", "root.example.com");
        let body = f.login(Some(&alice(&keys, &[])), "10.0.0.1");
        denied_with(&body, "your certificate is not accepted");
        denied_with(&body, "openssh CA of root.example.com");
    }
}
