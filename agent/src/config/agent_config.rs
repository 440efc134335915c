//! `/etc/pam-mfa/agent.yaml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::duration::{serde_text, serde_text_opt};
use super::https_url::https_url;
use super::manifest_source::ManifestSource;
use super::policy_source::PolicySource;
use super::service_map::ServiceMap;
use crate::policy::ServiceClass;
use crate::sync::manifest_format::{check_source_name, MANIFEST_FILE};

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
    #[serde(default)]
    pub piv: super::PivConfig,
    #[serde(default)]
    pub attached_keys: super::AttachedKeysConfig,
    /// Where the browser approval page is hosted (checked: https, a DNS
    /// host); unset: the prompt shows no link and browser answers are refused.
    #[serde(default)]
    pub approval_url: Option<super::ApprovalUrl>,
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
    /// The Teleport host UUID of this node, matched by `server_id`/`node`
    /// lock targets beside the name.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `https://...`, `file:///path` (a file or a directory) or `builtin:example`.
    #[serde(default = "default_source")]
    pub source: String,
    #[serde(default = "default_poll", with = "serde_text")]
    pub poll_interval: Duration,
    /// The longest wait between pulls after failures (backoff doubles from
    /// `poll_interval` up to this).
    #[serde(default = "default_max_backoff", with = "serde_text")]
    pub max_backoff: Duration,
    /// A file holding the bearer token sent to an HTTPS source (read on every pull).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificates that an HTTPS source's certificate must chain to.
    /// Default (no `ca_file`, no `ca_pins`): the system's CA bundle.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// `sha256:HEX` of a certificate's SubjectPublicKeyInfo (Teleport's CA pin form).
    #[serde(default)]
    pub ca_pins: Vec<CaPin>,
    /// Ed25519 keys, one of which must have signed the bundle (`<source>.sig`).
    #[serde(default)]
    pub signing_keys: Vec<SigningKeyText>,
    /// Where the detached signature is fetched; default: the source's path plus `.sig`.
    /// A bundle source only (a manifest's signature is `manifest.json.sig`).
    #[serde(default)]
    pub signature_source: Option<String>,
    /// A manifest source's name: a manifest whose `source` differs is refused.
    #[serde(default)]
    pub source_name: Option<String>,
    #[serde(default = "default_connect_timeout", with = "serde_text")]
    pub connect_timeout: Duration,
    /// The whole pull (connect, headers, body).
    #[serde(default = "default_fetch_timeout", with = "serde_text")]
    pub timeout: Duration,
    /// Bundles larger than this are refused.
    #[serde(default = "default_max_bundle_bytes")]
    pub max_bundle_bytes: u64,
    /// Where the last known good bundle is kept.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Past this long without contact with the source, the policy counts as
    /// unknown (fail_mode applies). `0s`: never.
    #[serde(default = "default_max_staleness", with = "serde_text")]
    pub max_staleness: Duration,
    /// With the cap's `locking_mode: strict`, logins are refused when the
    /// source was not reached for this long. Default: 3 × poll_interval.
    #[serde(default, with = "serde_text_opt")]
    pub lock_view_max_age: Option<Duration>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            source: default_source(),
            poll_interval: default_poll(),
            max_backoff: default_max_backoff(),
            token_file: None,
            ca_file: None,
            ca_pins: Vec::new(),
            signing_keys: Vec::new(),
            signature_source: None,
            source_name: None,
            connect_timeout: default_connect_timeout(),
            timeout: default_fetch_timeout(),
            max_bundle_bytes: default_max_bundle_bytes(),
            state_dir: default_state_dir(),
            max_staleness: default_max_staleness(),
            lock_view_max_age: None,
        }
    }
}

impl ClusterConfig {
    /// How long the lock view may go without contact under `locking_mode:
    /// strict`. Default: 3 × poll_interval; from a publisher's manifest
    /// (where contact is the newest manifest's issued_at, so the time the
    /// publisher takes between rounds counts too) 2 minutes more.
    pub fn lock_view_max_age(&self) -> Duration {
        let polls = self.poll_interval.saturating_mul(3);
        let publisher = if self.source.ends_with("/manifest.json") {
            Duration::from_secs(120)
        } else {
            Duration::ZERO
        };
        self.lock_view_max_age
            .unwrap_or(polls.saturating_add(publisher))
    }
}

/// `sha256:HEX` (64 hex digits, any case, `:` separators allowed as tctl
/// and openssl print them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPin(pub [u8; 32]);

impl CaPin {
    pub fn parse(text: &str) -> Result<CaPin, String> {
        let hex = text.trim().strip_prefix("sha256:").ok_or_else(|| {
            format!("ca pin '{text}' must be sha256:HEX (the SHA-256 of the certificate's SubjectPublicKeyInfo)")
        })?;
        let hex: String = hex.chars().filter(|c| *c != ':').collect();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "ca pin '{text}': expected 64 hex digits after sha256:"
            ));
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex");
        }
        Ok(CaPin(out))
    }
}

impl<'de> Deserialize<'de> for CaPin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CaPin::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A bundle signing key as written in agent.yaml: `ed25519:BASE64` (the
/// 32-byte raw key) or an OpenSSH `ssh-ed25519 AAAA... comment` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyText {
    pub text: String,
    pub key: [u8; 32],
}

impl<'de> Deserialize<'de> for SigningKeyText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let key = crate::sync::parse_signing_key(&s).map_err(serde::de::Error::custom)?;
        Ok(SigningKeyText { text: s, key })
    }
}

fn default_source() -> String {
    "file:///etc/pam-mfa/policy.d".into()
}

fn default_poll() -> Duration {
    Duration::from_secs(2)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(300)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_fetch_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_max_bundle_bytes() -> u64 {
    128 * 1024 * 1024
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/pam-mfa")
}

fn default_max_staleness() -> Duration {
    Duration::from_secs(24 * 3600)
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
        let day = Duration::from_secs(86_400);
        if cfg.cluster.poll_interval < Duration::from_millis(100) || cfg.cluster.poll_interval > day
        {
            return Err(at(
                "cluster.poll_interval must be between 100ms and 24h".into()
            ));
        }
        if cfg.cluster.max_backoff > day {
            return Err(at("cluster.max_backoff must be at most 24h".into()));
        }
        cfg.sessions.check().map_err(at)?;
        cfg.piv.check().map_err(at)?;
        cfg.attached_keys.check().map_err(at)?;
        cfg.policy_source().map_err(at)?;
        cfg.check_cluster().map_err(at)?;
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

    /// `node.id`, trimmed; `None` when absent or empty.
    pub fn node_id(&self) -> Option<String> {
        self.node
            .id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
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

    /// The cluster keys that depend on each other.
    fn check_cluster(&self) -> Result<(), String> {
        let c = &self.cluster;
        if c.max_backoff < c.poll_interval {
            return Err("cluster.max_backoff may not be shorter than cluster.poll_interval".into());
        }
        if c.lock_view_max_age() < c.poll_interval {
            return Err(
                "cluster.lock_view_max_age may not be shorter than cluster.poll_interval".into(),
            );
        }
        if !c.max_staleness.is_zero() && c.max_staleness < c.poll_interval {
            return Err("cluster.max_staleness may not be shorter than cluster.poll_interval (0s: never stale)".into());
        }
        if c.connect_timeout.is_zero() || c.timeout.is_zero() {
            return Err("cluster.connect_timeout and cluster.timeout must be above 0s".into());
        }
        if c.max_bundle_bytes < 1024 {
            return Err("cluster.max_bundle_bytes must be at least 1024".into());
        }
        if !c.state_dir.is_absolute() {
            return Err("cluster.state_dir must be an absolute path".into());
        }
        let source = self.policy_source()?;
        check_manifest_keys(c, &source)?;
        let https = matches!(
            source,
            PolicySource::Https(_) | PolicySource::Manifest(ManifestSource::Https(_))
        );
        let manifest = matches!(source, PolicySource::Manifest(_));
        if !https && !manifest {
            let set: Vec<&str> = [
                ("token_file", c.token_file.is_some()),
                ("ca_file", c.ca_file.is_some()),
                ("ca_pins", !c.ca_pins.is_empty()),
                ("signing_keys", !c.signing_keys.is_empty()),
                ("signature_source", c.signature_source.is_some()),
            ]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| *k)
            .collect();
            if !set.is_empty() {
                return Err(format!(
                    "cluster.{} only apply to an https:// source",
                    set.join(", cluster.")
                ));
            }
        }
        if c.ca_file.is_some() && !c.ca_pins.is_empty() {
            return Err("set cluster.ca_file or cluster.ca_pins, not both".into());
        }
        for (key, p) in [("token_file", &c.token_file), ("ca_file", &c.ca_file)] {
            if p.as_ref().is_some_and(|p| !p.is_absolute()) {
                return Err(format!("cluster.{key} must be an absolute path"));
            }
        }
        if let Some(s) = &c.signature_source {
            if c.signing_keys.is_empty() {
                return Err("cluster.signature_source needs cluster.signing_keys".into());
            }
            https_url(s, "cluster.signature_source")?;
        }
        Ok(())
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

/// The cluster keys of manifest mode: `signing_keys` and `source_name` are
/// needed; `signature_source` belongs to the bundle mode (the manifest's
/// signature is always `manifest.json.sig` beside it). Outside manifest
/// mode, `source_name` has no meaning.
fn check_manifest_keys(c: &ClusterConfig, source: &PolicySource) -> Result<(), String> {
    let manifest = matches!(source, PolicySource::Manifest(_));
    if !manifest {
        if c.source_name.is_some() {
            return Err(format!(
                "cluster.source_name only applies to a manifest source (a cluster.source ending in /{MANIFEST_FILE})"
            ));
        }
        return Ok(());
    }
    if c.signing_keys.is_empty() {
        return Err(format!(
            "a manifest source (/{MANIFEST_FILE}) needs cluster.signing_keys: the manifest is only read when signed"
        ));
    }
    let name = c.source_name.as_deref().ok_or_else(|| {
        "a manifest source needs cluster.source_name: the name mfactl publish --source-name gave it".to_string()
    })?;
    check_source_name(name).map_err(|e| format!("cluster.source_name: {e}"))?;
    if c.signature_source.is_some() {
        return Err(format!(
            "cluster.signature_source is for a bundle source; a manifest's signature is always {MANIFEST_FILE}.sig beside it"
        ));
    }
    if matches!(source, PolicySource::Manifest(ManifestSource::File(_))) {
        let set: Vec<&str> = [
            ("token_file", c.token_file.is_some()),
            ("ca_file", c.ca_file.is_some()),
            ("ca_pins", !c.ca_pins.is_empty()),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| *k)
        .collect();
        if !set.is_empty() {
            return Err(format!(
                "cluster.{} only apply to an https:// source",
                set.join(", cluster.")
            ));
        }
    }
    Ok(())
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
        assert_eq!(d.cluster.lock_view_max_age(), Duration::from_secs(15));
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
}

#[cfg(test)]
mod url_tests {
    use crate::config::https_url::{https_url, without_userinfo};

    #[test]
    fn errors_never_show_the_password_of_a_source_url() {
        for text in [
            "http://alice:s3cret@policy.example/b.yaml",
            "https://alice:s3cret@/b.yaml",
            "https://alice:s3cret@policy.example/b.yaml",
            "ftp://alice:s3cret@policy.example/b.yaml",
        ] {
            let err = https_url(text, "cluster.source").unwrap_err();
            assert!(!err.contains("s3cret"), "{err}");
            assert!(!err.contains("alice"), "{err}");
        }
        assert_eq!(
            without_userinfo("https://u:p@h.example/a@b"),
            "https://***@h.example/a@b"
        );
        assert_eq!(
            without_userinfo("https://h.example/a@b"),
            "https://h.example/a@b"
        );
    }
}
