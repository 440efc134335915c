//! agent.yaml as a whole: what parses, and errors with their places.

use std::path::PathBuf;
use std::time::Duration;

use super::{AgentConfig, CaPin, FailMode, PolicySource, EMBEDDED_DEFAULT};
use crate::policy::ServiceClass;

#[test]
fn embedded_default_parses() {
    let cfg = AgentConfig::parse(EMBEDDED_DEFAULT, "default").unwrap();
    assert_eq!(cfg.fail_mode, FailMode::Closed);
    assert_eq!(cfg.reuse_window, Duration::ZERO);
    assert_eq!(cfg.socket.path, PathBuf::from("/run/pam-mfa/agent.sock"));
    assert_eq!(
        cfg.policy_source().unwrap(),
        PolicySource::Path("/etc/pam-mfa/policy.d".into())
    );
}

#[test]
fn full_config() {
    let text = "node:\n  name: prod3\n  labels:\n    env: prod\ncluster:\n  source: file:///tmp/b.yaml\n  poll_interval: 1s\nsocket:\n  path: /tmp/x.sock\n  keys_user: sshkeys\nservices:\n  sshd-t: ssh\nfail_mode: open\nreuse_window: 2m\naudit:\n  sink: file:/tmp/audit.log\nsshd:\n  pubkey_auth_options: [touch-required]\n";
    let cfg = AgentConfig::parse(text, "t").unwrap();
    assert_eq!(cfg.node_name(), "prod3");
    assert_eq!(cfg.node.labels["env"], "prod");
    assert_eq!(cfg.fail_mode, FailMode::Open);
    assert_eq!(cfg.reuse_window, Duration::from_secs(120));
    assert!(cfg.sshd_enforces_touch());
    assert_eq!(
        cfg.service_map().unwrap().class_of("sshd-t"),
        Some(ServiceClass::Ssh)
    );
}

#[test]
fn errors_have_places() {
    let e = AgentConfig::parse("node:\n  name: a\n  lables: {}\n", "a.yaml").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().starts_with("a.yaml:3:"), "{e}");
    let e = AgentConfig::parse("fail_mode: maybe\n", "a.yaml").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    let e = AgentConfig::parse("reuse_window: 10m\n", "a.yaml").unwrap_err();
    assert!(e.message.contains("may not exceed"), "{e}");
    let e = AgentConfig::parse("cluster:\n  source: /etc/x\n", "a.yaml").unwrap_err();
    assert!(e.message.contains("file://"), "{e}");
    let e = AgentConfig::parse("services:\n  sshd: root\n", "a.yaml").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    let e = AgentConfig::parse("audit:\n  sink: carrier-pigeon\n", "a.yaml").unwrap_err();
    assert!(e.message.contains("carrier-pigeon"), "{e}");
}

#[test]
fn cluster_https_keys() {
    let raw = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
        .verifying_key()
        .to_bytes();
    let key = format!(
        "ed25519:{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw)
    );
    let text = format!(
        "cluster:\n  source: https://policy.example/fleet/bundle.yaml\n  poll_interval: 30s\n  token_file: /etc/pam-mfa/token\n  ca_pins: [\"sha256:{}\"]\n  signing_keys: [\"{key}\"]\n  max_staleness: 12h\n  lock_view_max_age: 2m\n  state_dir: /var/lib/pam-mfa\n",
        "ab".repeat(32)
    );
    let cfg = AgentConfig::parse(&text, "a.yaml").unwrap();
    assert!(matches!(
        cfg.policy_source().unwrap(),
        PolicySource::Https(_)
    ));
    assert_eq!(cfg.cluster.ca_pins, vec![CaPin([0xab; 32])]);
    assert_eq!(cfg.cluster.lock_view_max_age(), Duration::from_secs(120));
    assert_eq!(cfg.cluster.max_staleness, Duration::from_secs(12 * 3600));
    let d = AgentConfig::parse("cluster:\n  poll_interval: 5s\n", "a.yaml").unwrap();
    assert_eq!(
        d.cluster.lock_view_max_age(),
        Duration::from_secs(300),
        "never under Teleport's LockMaxStaleness"
    );
    assert_eq!(d.cluster.max_staleness, Duration::from_secs(24 * 3600));
    assert_eq!(d.cluster.state_dir, PathBuf::from("/var/lib/pam-mfa"));
}

#[test]
fn cluster_errors_have_places() {
    let at_line = |text: &str, line: u64, needle: &str| {
        let e = AgentConfig::parse(text, "a.yaml").unwrap_err();
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.to_string().starts_with(&format!("a.yaml:{line}:")), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    };
    let https = "cluster:\n  source: https://p.example/b\n";
    at_line(
        &format!("{https}  ca_pins: [\"sha256:1234\"]\n"),
        3,
        "64 hex digits",
    );
    at_line(
        &format!("{https}  ca_pins: [\"md5:{}\"]\n", "ab".repeat(16)),
        3,
        "sha256:HEX",
    );
    at_line(
        &format!("{https}  signing_keys: [\"ssh-rsa AAAA\"]\n"),
        3,
        "signing key",
    );
    at_line(&format!("{https}  max_staleness: 1d\n"), 3, "1d");
    at_line(&format!("{https}  lock_view_max_age: soon\n"), 3, "soon");
    at_line(&format!("{https}  ca_fiel: /x\n"), 3, "ca_fiel");
    let whole = |text: &str, needle: &str| {
        let e = AgentConfig::parse(text, "a.yaml").unwrap_err();
        assert!(e.to_string().starts_with("a.yaml: "), "{e}");
        assert!(e.message.contains(needle), "{e}");
    };
    whole("cluster:\n  source: http://p.example/b\n", "plain http");
    whole(
        "cluster:\n  source: https://u:p@p.example/b\n",
        "credentials",
    );
    whole(
        "cluster:\n  source: file:///x\n  token_file: /t\n",
        "only apply to an https",
    );
    whole(
        &format!(
            "{https}  ca_file: /a.pem\n  ca_pins: [\"sha256:{}\"]\n",
            "00".repeat(32)
        ),
        "not both",
    );
    whole(&format!("{https}  token_file: token\n"), "absolute");
    whole(
        &format!("{https}  poll_interval: 10s\n  lock_view_max_age: 5s\n"),
        "lock_view_max_age",
    );
    whole(
        &format!("{https}  poll_interval: 10s\n  max_backoff: 5s\n"),
        "max_backoff",
    );
    whole(&format!("{https}  state_dir: var/lib\n"), "state_dir");
}

/// A manifest source is recognised however its URL ends (a query string
/// too): its lock view gets the publisher's two minutes, as the sync does.
#[test]
fn a_manifest_url_with_a_query_gets_the_publishers_allowance() {
    let at = |source: &str| {
        super::ClusterConfig {
            source: source.into(),
            ..Default::default()
        }
        .lock_view_max_age()
    };
    let five = Duration::from_secs(300);
    assert_eq!(at("https://cdn.example/fleet/bundle.yaml"), five);
    for manifest in [
        "https://cdn.example/fleet/manifest.json",
        "https://cdn.example/fleet/manifest.json?v=1",
    ] {
        assert!(matches!(
            PolicySource::parse(manifest),
            Ok(PolicySource::Manifest(_))
        ));
        assert_eq!(at(manifest), five + Duration::from_secs(120), "{manifest}");
    }
}

/// `node.teleport_data_dir`: where Teleport's host_uuid is read from;
/// /var/lib/teleport unless set, "" turns it off, a relative path is refused.
#[test]
fn teleport_data_dir_defaults_to_teleports_and_may_be_turned_off() {
    use std::path::Path;
    let dir = |node: &str| {
        AgentConfig::parse(&format!("node:\n  name: prod3\n{node}"), "a.yaml")
            .map(|c| c.node.teleport_data_dir().map(Path::to_path_buf))
    };
    assert_eq!(
        dir("").unwrap().as_deref(),
        Some(Path::new("/var/lib/teleport"))
    );
    assert_eq!(
        dir("  teleport_data_dir: /srv/teleport\n")
            .unwrap()
            .as_deref(),
        Some(Path::new("/srv/teleport"))
    );
    assert_eq!(dir("  teleport_data_dir: ''\n").unwrap(), None);
    let e = dir("  teleport_data_dir: var/lib/teleport\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("node.teleport_data_dir var/lib/teleport is not an absolute path"),
        "{e}"
    );
}
