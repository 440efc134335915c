//! SSH logins with a Teleport certificate of a resource access request,
//! signed by `ssh-keygen` as Teleport signs it, through the whole decision:
//! the certificate is read as lib/sshca `DecodeIdentity` reads it and this
//! node is one of its resources only by its resource name (`node.id`), as
//! lib/services `checkAllowedResources` has it.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use pam_mfa_protocol::ResponseBody;

use super::flow_tests::{denied_with, Fixture, ALLOW};

/// The agent's clock in [`Fixture`].
const NOW: u64 = 1_800_000_000;
const CLUSTER: &str = "example.com";

/// A scratch directory with a user CA and a user key; removed on drop.
struct Keys {
    dir: PathBuf,
}

impl Keys {
    fn new(tag: &str) -> Keys {
        let dir = std::env::temp_dir().join(format!(
            "mfa-agent-resource-request-{}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["ca", "user"] {
            keygen(&dir, name);
        }
        Keys { dir }
    }

    fn ca_line(&self) -> String {
        read(&self.dir.join("ca.pub"))
    }

    /// sshd's `SSH_AUTH_INFO_0` for a certificate of cluster user `u` with
    /// role `open`, login root, valid around [`NOW`], with `extensions`.
    fn auth_info(&self, extensions: &[&str]) -> String {
        let _ = std::fs::remove_file(self.dir.join("user-cert.pub"));
        let window = format!("0x{:x}:0x{:x}", NOW - 600, NOW + 3600);
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-s"])
            .arg(self.dir.join("ca"))
            .args(["-I", "u", "-n", "root", "-V", &window, "-O"])
            .arg(r#"extension:teleport-roles={"version":"v1","roles":["open"]}"#);
        for e in extensions {
            cmd.arg("-O").arg(format!("extension:{e}"));
        }
        run(cmd.arg(self.dir.join("user.pub")));
        let line = read(&self.dir.join("user-cert.pub"));
        let mut words = line.split_whitespace();
        format!(
            "publickey {} {}\n",
            words.next().unwrap(),
            words.next().unwrap()
        )
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn keygen(dir: &Path, name: &str) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(dir.join(name)));
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("ssh-keygen must be installed");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

/// Role `open` (root and deploy everywhere, no MFA) and the user CA.
fn policy(keys: &Keys) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(format!("{}\n", keys.ca_line()));
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: open}}\nspec:\n  allow:\n    logins: [root, deploy]\n    node_labels: {{'*': '*'}}\n---\n\
         kind: cert_authority\nversion: v2\nmetadata: {{name: {CLUSTER}}}\nspec:\n  type: user\n  cluster_name: {CLUSTER}\n  active_keys:\n    ssh:\n    - public_key: {ca}\n"
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
        ResponseBody::Deny { message } => {
            assert!(message.contains("certificate is not accepted"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
