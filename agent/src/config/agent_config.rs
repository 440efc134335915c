//! `/etc/pam-mfa/agent.yaml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::duration::serde_text;
use super::service_map::ServiceMap;
use crate::policy::ServiceClass;

/// Where the agent reads its configuration unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/pam-mfa/agent.yaml";

/// The configuration used when the file is absent: a host with no labels that
/// reads its policy from `/etc/pam-mfa/policy.d`.
pub const EMBEDDED_DEFAULT: &str = include_str!("default_agent.yaml");

/// The longest reuse window allowed: Teleport's MFA validity.
pub const MAX_REUSE_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default)]
    pub node: NodeConfig,
    #[serde(default)]
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub socket: SocketConfig,
    /// PAM service (glob) → class; consulted before the built-in map.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceClass>,
    #[serde(default)]
    pub fail_mode: FailMode,
    #[serde(default, with = "serde_text")]
    pub reuse_window: Duration,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub sshd: SshdConfig,
    #[serde(default)]
    pub challenge: ChallengeConfig,
    #[serde(default)]
    pub sessions: super::SessionsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeConfig {
    /// How long a challenge can be answered.
    #[serde(default = "default_challenge_ttl", with = "serde_text")]
    pub ttl: Duration,
    /// Answers accepted per login attempt before it is refused.
    #[serde(default = "default_tries")]
    pub tries: u32,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            ttl: default_challenge_ttl(),
            tries: default_tries(),
        }
    }
}

fn default_challenge_ttl() -> Duration {
    Duration::from_secs(60)
}

fn default_tries() -> u32 {
    3
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's name (Teleport's node name); the host name when absent.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `file:///path` (a file or a directory) or `builtin:example`.
    #[serde(default = "default_source")]
    pub source: String,
    #[serde(default = "default_poll", with = "serde_text")]
    pub poll_interval: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            source: "file:///etc/pam-mfa/policy.d".into(),
            poll_interval: default_poll(),
        }
    }
}

fn default_source() -> String {
    "file:///etc/pam-mfa/policy.d".into()
}

fn default_poll() -> Duration {
    Duration::from_secs(2)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketConfig {
    #[serde(default = "default_socket")]
    pub path: PathBuf,
    /// sshd's `AuthorizedKeysCommandUser`: the only thing it may ask is keys.
    #[serde(default = "default_keys_user")]
    pub keys_user: String,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            path: default_socket(),
            keys_user: default_keys_user(),
        }
    }
}

fn default_socket() -> PathBuf {
    PathBuf::from(pam_mfa_protocol::DEFAULT_SOCKET)
}

fn default_keys_user() -> String {
    "nobody".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    #[default]
    Closed,
    Open,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// `auto`, `journald`, `syslog`, `stderr` or `file:/path`.
    #[serde(default = "default_sink")]
    pub sink: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            sink: default_sink(),
        }
    }
}

fn default_sink() -> String {
    "auto".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshdConfig {
    /// sshd's `AuthorizedKeysFile`, relative to the home directory. sshd reads
    /// these before `AuthorizedKeysCommand`, so their options win.
    #[serde(default = "default_ak_files")]
    pub authorized_keys_files: Vec<String>,
    /// What sshd_config's `PubkeyAuthOptions` says (`touch-required`,
    /// `verify-required`): sshd then enforces them for every key.
    #[serde(default)]
    pub pubkey_auth_options: Vec<String>,
}

impl Default for SshdConfig {
    fn default() -> Self {
        SshdConfig {
            authorized_keys_files: default_ak_files(),
            pubkey_auth_options: Vec::new(),
        }
    }
}

fn default_ak_files() -> Vec<String> {
    vec![
        ".ssh/authorized_keys".into(),
        ".ssh/authorized_keys2".into(),
    ]
}

/// A configuration error with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl AgentConfig {
    /// Parses and checks a configuration text.
    pub fn parse(text: &str, origin: &str) -> Result<AgentConfig, ConfigError> {
        let at = |message: String| ConfigError {
            file: origin.into(),
            line: None,
            column: None,
            message,
        };
        let cfg: AgentConfig = serde_saphyr::from_str(text).map_err(|e| {
            let loc = e.location();
            // The first line of serde-saphyr's text is the message itself.
            let msg = e.to_string();
            let msg = msg.lines().next().unwrap_or("invalid YAML").to_string();
            let msg = strip_location_prefix(&msg);
            ConfigError {
                file: origin.into(),
                line: loc.map(|l| l.line()),
                column: loc.map(|l| l.column()),
                message: msg,
            }
        })?;
        if cfg.reuse_window > MAX_REUSE_WINDOW {
            return Err(at(format!(
                "reuse_window is {}s; it may not exceed {}s (Teleport's MFA validity)",
                cfg.reuse_window.as_secs(),
                MAX_REUSE_WINDOW.as_secs()
            )));
        }
        if cfg.challenge.ttl < Duration::from_secs(5)
            || cfg.challenge.ttl > Duration::from_secs(600)
        {
            return Err(at("challenge.ttl must be between 5s and 10m".into()));
        }
        if !(1..=10).contains(&cfg.challenge.tries) {
            return Err(at("challenge.tries must be between 1 and 10".into()));
        }
        if cfg.cluster.poll_interval < Duration::from_millis(100) {
            return Err(at("cluster.poll_interval must be at least 100ms".into()));
        }
        cfg.sessions.check().map_err(at)?;
        cfg.policy_source().map_err(at)?;
        cfg.service_map().map_err(at)?;
        crate::audit::SinkSpec::parse(&cfg.audit.sink).map_err(at)?;
        for o in &cfg.sshd.pubkey_auth_options {
            if !matches!(o.as_str(), "touch-required" | "verify-required" | "none") {
                return Err(at(format!(
                    "sshd.pubkey_auth_options: unknown option '{o}'"
                )));
            }
        }
        if !cfg.socket.path.is_absolute() {
            return Err(at("socket.path must be an absolute path".into()));
        }
        Ok(cfg)
    }

    /// Reads `path`, or the embedded default when it does not exist.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => AgentConfig::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                AgentConfig::parse(EMBEDDED_DEFAULT, "(embedded default agent.yaml)")
            }
            Err(e) => Err(ConfigError {
                file: path.display().to_string(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    pub fn node_name(&self) -> String {
        self.node.name.clone().unwrap_or_else(|| {
            rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned()
        })
    }

    pub fn policy_source(&self) -> Result<PolicySource, String> {
        PolicySource::parse(&self.cluster.source)
    }

    pub fn service_map(&self) -> Result<ServiceMap, String> {
        ServiceMap::new(&self.services)
    }

    pub fn sshd_enforces_touch(&self) -> bool {
        self.sshd
            .pubkey_auth_options
            .iter()
            .any(|o| o == "touch-required")
    }

    pub fn sshd_enforces_verify(&self) -> bool {
        self.sshd
            .pubkey_auth_options
            .iter()
            .any(|o| o == "verify-required")
    }
}

fn strip_location_prefix(msg: &str) -> String {
    // "error: line 8 column 24: text" -> "text"
    let m = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = m.strip_prefix("line ") {
        if let Some(idx) = rest.find(": ") {
            return rest[idx + 2..].to_string();
        }
    }
    m.to_string()
}

/// Where the policy bundle comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A file, or a directory of `*.yaml`, `*.yml` and `*.json` files.
    Path(PathBuf),
    /// The seed example compiled into the binary (demos and first tries).
    BuiltinExample,
}

impl PolicySource {
    pub fn parse(text: &str) -> Result<PolicySource, String> {
        if text == "builtin:example" {
            return Ok(PolicySource::BuiltinExample);
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "cluster.source '{text}': a file:// source needs an absolute path"
                ));
            }
            return Ok(PolicySource::Path(PathBuf::from(path)));
        }
        if text.starts_with("https://") || text.starts_with("http://") {
            return Err(format!(
                "cluster.source '{text}': HTTPS sources are not supported by this build yet; use file://"
            ));
        }
        Err(format!(
            "cluster.source '{text}' must start with file:// or be builtin:example"
        ))
    }

    pub fn describe(&self) -> String {
        match self {
            PolicySource::Path(p) => format!("file://{}", p.display()),
            PolicySource::BuiltinExample => "builtin:example".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
