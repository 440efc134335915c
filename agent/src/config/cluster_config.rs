//! `cluster:` in agent.yaml: where the policy comes from, how often it is
//! pulled, and what a pull is checked against.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::cluster_keys::{CaPin, SigningKeyText};
use super::duration::{serde_text, serde_text_opt};
use super::https_url::https_url;
use super::manifest_source::ManifestSource;
use super::policy_source::PolicySource;
use crate::sync::manifest_format::{check_source_name, MANIFEST_FILE};

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
    /// This Teleport cluster's name: a certificate signed by another
    /// cluster's user CA (a trusted cluster) has its roles mapped through
    /// that CA's `role_map`. Unset: the one cluster whose user CA has no
    /// `role_map`.
    #[serde(default)]
    pub name: Option<String>,
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
            name: None,
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
    /// strict`. Default: 3 × poll_interval, and never less than Teleport's
    /// own limit (`defaults.LockMaxStaleness`, 5 minutes: a strict lock
    /// watcher trusts its cached locks that long); from a publisher's
    /// manifest (where contact is the newest manifest's issued_at, so the
    /// time the publisher takes between rounds counts too) 2 minutes more.
    pub fn lock_view_max_age(&self) -> Duration {
        let polls = self
            .poll_interval
            .saturating_mul(3)
            .max(TELEPORT_LOCK_MAX_STALENESS);
        let publisher = if matches!(
            PolicySource::parse(&self.source),
            Ok(PolicySource::Manifest(_))
        ) {
            Duration::from_secs(120)
        } else {
            Duration::ZERO
        };
        self.lock_view_max_age
            .unwrap_or(polls.saturating_add(publisher))
    }

    /// The intervals on their own: `poll_interval` within 100ms..24h,
    /// `max_backoff` at most 24h.
    pub fn check_intervals(&self) -> Result<(), String> {
        let day = Duration::from_secs(86_400);
        if self.poll_interval < Duration::from_millis(100) || self.poll_interval > day {
            return Err("cluster.poll_interval must be between 100ms and 24h".into());
        }
        if self.max_backoff > day {
            return Err("cluster.max_backoff must be at most 24h".into());
        }
        Ok(())
    }

    /// The cluster keys that depend on each other.
    pub fn check(&self) -> Result<(), String> {
        let c = self;
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
        if c.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err("cluster.name may not be empty: this Teleport cluster's name".into());
        }
        let source = PolicySource::parse(&c.source)?;
        check_manifest_keys(c, &source)?;
        let https = matches!(
            source,
            PolicySource::Https(_) | PolicySource::Manifest(ManifestSource::Https(_))
        );
        let manifest = matches!(source, PolicySource::Manifest(_));
        if !https && !manifest {
            refuse_https_only_keys(&[
                ("token_file", c.token_file.is_some()),
                ("ca_file", c.ca_file.is_some()),
                ("ca_pins", !c.ca_pins.is_empty()),
                ("signing_keys", !c.signing_keys.is_empty()),
                ("signature_source", c.signature_source.is_some()),
            ])?;
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
}

/// Teleport's `defaults.LockMaxStaleness` (lib/defaults): how stale a
/// strict lock watcher's view may be before it refuses.
const TELEPORT_LOCK_MAX_STALENESS: Duration = Duration::from_secs(300);

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
        refuse_https_only_keys(&[
            ("token_file", c.token_file.is_some()),
            ("ca_file", c.ca_file.is_some()),
            ("ca_pins", !c.ca_pins.is_empty()),
        ])?;
    }
    Ok(())
}

/// An error naming every key of `keys` that is set (`(name, set)`): they
/// only apply to an https:// source.
fn refuse_https_only_keys(keys: &[(&str, bool)]) -> Result<(), String> {
    let set: Vec<&str> = keys.iter().filter(|(_, on)| *on).map(|(k, _)| *k).collect();
    if set.is_empty() {
        return Ok(());
    }
    Err(format!(
        "cluster.{} only apply to an https:// source",
        set.join(", cluster.")
    ))
}
