//! SSH logins with a Teleport certificate of a resource access request,
//! signed by `ssh-keygen` as Teleport signs it, through the whole decision:
//! the certificate is read as lib/sshca `DecodeIdentity` reads it and this
//! node is one of its resources only by its resource name (`node.id`), as
//! lib/services `checkAllowedResources` has it.

use pam_mfa_protocol::ResponseBody;

use super::flow_tests::{denied_with, Fixture, ALLOW};
use super::user_cert_keys::UserCertKeys;

const CLUSTER: &str = "example.com";

/// A user CA and key, and certificates of cluster user `u` with role
/// `open`.
struct Keys(UserCertKeys);

impl Keys {
    fn new(tag: &str) -> Keys {
        Keys(UserCertKeys::new(&format!("resource-request-{tag}")))
    }

    /// sshd's `SSH_AUTH_INFO_0` for a certificate of cluster user `u` with
    /// role `open`, login root, with `extensions`.
    fn auth_info(&self, extensions: &[&str]) -> String {
        self.0.auth_info("u", &["open"], extensions)
    }
}

/// Role `open` (root and deploy everywhere, no MFA) and the user CA.
fn policy(keys: &Keys) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: open}}\nspec:\n  allow:\n    logins: [root, deploy]\n    node_labels: {{'*': '*'}}\n---\n{}",
        keys.0.cert_authority(CLUSTER)
    )
}

/// This node, `prod3`, with `node.id` when given.
fn fixture(keys: &Keys, id: Option<&str>) -> Fixture {
    let node = match id {
        Some(id) => format!("name: prod3\n  id: {id}\n  labels: {{env: prod}}"),
        None => "name: prod3\n  labels: {env: prod}".to_owned(),
    };
    Fixture::with_node(
        &policy(keys),
        &node,
        "",
        "authorized_keys_files: []\n  pubkey_auth_options: []",
    )
}

fn resources(names: &[&str]) -> String {
    let ids: Vec<String> = names
        .iter()
        .map(|n| format!("\"/{CLUSTER}/node/{n}\""))
        .collect();
    format!("teleport-allowed-resources=[{}]", ids.join(","))
}

const REFUSED: &str = "does not allow u to log in as root";

/// Teleport's `checkAllowedResources` compares a resource's name with the
/// node resource's name (its host UUID), never with its host name. Before,
/// a request approved for another node that happens to be called like this
/// host's `node.name` reached this host when `node.id` was not set.
#[test]
fn a_request_for_a_node_called_like_this_host_does_not_reach_it() {
    let keys = Keys::new("name");
    let f = fixture(&keys, None);
    let login = |extensions: &[&str]| f.login(Some(&keys.auth_info(extensions)), "10.0.0.1");
    assert_eq!(login(&[]), ALLOW);
    denied_with(&login(&[&resources(&["prod3"])]), REFUSED);
    denied_with(&login(&[&resources(&["uuid-3"])]), REFUSED);
    // With node.id, this node is the resource of that name.
    let f = fixture(&keys, Some("uuid-3"));
    let login = |extensions: &[&str]| f.login(Some(&keys.auth_info(extensions)), "10.0.0.1");
    assert_eq!(login(&[&resources(&["uuid-1", "uuid-3"])]), ALLOW);
    denied_with(&login(&[&resources(&["prod3"])]), REFUSED);
}

/// `ResourceIDsFromString` reads `null` as no list: the certificate is not
/// limited (it was refused as malformed).
#[test]
fn a_null_resource_list_limits_nothing() {
    let keys = Keys::new("null");
    let f = fixture(&keys, Some("uuid-3"));
    for value in ["null", "[]"] {
        let info = keys.auth_info(&[&format!("teleport-allowed-resources={value}")]);
        assert_eq!(f.login(Some(&info), "10.0.0.1"), ALLOW, "{value}");
    }
}

/// Newer Teleport, every resource constrained (RFD 0228): the sentinel in
/// `teleport-allowed-resources`, the resources with their logins in
/// `teleport-allowed-resource-access-ids`. Before, no such certificate
/// reached any node here.
#[test]
fn a_constrained_request_reaches_its_node_with_its_logins() {
    let keys = Keys::new("constrained");
    let f = fixture(&keys, Some("uuid-3"));
    let info = |constraints: &str| {
        keys.auth_info(&[
            r#"teleport-allowed-resources=["/__SENTINEL__/node/__SENTINEL__"]"#,
            &format!(
                r#"teleport-allowed-resource-access-ids={{"resources":[{{"id":{{"cluster":"{CLUSTER}","kind":"node","name":"uuid-3"}},"constraints":{constraints}}}]}}"#
            ),
        ])
    };
    assert_eq!(
        f.login(
            Some(&info(r#"{"version":"v1","ssh":{"logins":["root"]}}"#)),
            "10.0.0.1"
        ),
        ALLOW
    );
    denied_with(
        &f.login(
            Some(&info(r#"{"version":"v1","ssh":{"logins":["deploy"]}}"#)),
            "10.0.0.1",
        ),
        REFUSED,
    );
    // A kind pam-mfa does not apply reaches nothing; one Teleport refuses
    // refuses the certificate.
    denied_with(
        &f.login(
            Some(&info(r#"{"version":"v1","database":{"users":["x"]}}"#)),
            "10.0.0.1",
        ),
        REFUSED,
    );
    match f.login(
        Some(&info(r#"{"version":"v2","ssh":{"logins":["root"]}}"#)),
        "10.0.0.1",
    ) {
        ResponseBody::Deny { message, .. } => {
            assert!(message.contains("certificate is not accepted"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
