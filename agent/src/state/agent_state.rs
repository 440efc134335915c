//! Everything a request handler needs, shared between connection threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use pam_mfa_protocol::DecisionCounts;

use super::live::Live;
use super::policy_store::PolicyStore;
use crate::audit::{Admission, AuditEvent, AuditSink, PeerAuditLimit, BURST, REFILL_EVERY};
use crate::challenge::{SignatureCounters, UsedChallenges};
use crate::config::{AgentConfig, PolicySource, ServiceMap};
use crate::login::{Grants, RecordedAuthInfo, ReuseCache, ServedKeys};
use crate::policy::NodeInfo;
use crate::sync::{AcceptedManifest, CacheStore, HttpsFetcher, ManifestFetcher};

/// Injected time, so tests can move it.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Default)]
pub struct Counters {
    pub allowed: AtomicU64,
    pub denied: AtomicU64,
    pub unavailable: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> DecisionCounts {
        DecisionCounts {
            allowed: self.allowed.load(Ordering::Relaxed),
            denied: self.denied.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    pub fn count(&self, result: &str) {
        let c = match result {
            "allow" => &self.allowed,
            "deny" => &self.denied,
            "unavailable" => &self.unavailable,
            _ => &self.errors,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct AgentState {
    /// agent.yaml in force: `reload_config` replaces it (the parts that
    /// can change live; see `state::config_reload`).
    pub config: Live<AgentConfig>,
    pub node: Live<NodeInfo>,
    /// `node.id` in force (`node.id` above) and where it came from: agent.yaml
    /// or Teleport's host_uuid file; or why there is none.
    pub node_id: Live<crate::config::ResolvedNodeId>,
    pub services: Live<ServiceMap>,
    /// The file agent.yaml is read from on reload (None: never reloaded).
    pub config_path: Option<PathBuf>,
    pub source: PolicySource,
    pub store: PolicyStore,
    /// Shared with what reports on its own (the signature counters).
    pub audit: Arc<AuditSink>,
    /// The rate of audit events of decisions non-root peers ask for.
    pub peer_audit: PeerAuditLimit,
    pub counters: Counters,
    pub started: Instant,
    /// uid of `socket.keys_user`, when that user exists.
    pub keys_uid: Option<u32>,
    pub served_keys: ServedKeys,
    pub reuse: ReuseCache,
    pub grants: Grants,
    /// `SSH_AUTH_INFO_0` as sshd sent it to auth/account, for open_session.
    pub recorded_auth: RecordedAuthInfo,
    pub signature_counters: SignatureCounters,
    /// Challenges that had their answer: a replay is "already used".
    pub used_challenges: UsedChallenges,
    pub sessions: crate::sessions::SessionRegistry,
    pub clock: Clock,
    /// The HTTPS client of an `https://` source (or why it could not be made:
    /// every pull then fails with that reason, and the cache still serves).
    pub fetcher: Option<Result<HttpsFetcher, String>>,
    /// The reader of a manifest source (or why it could not be made).
    pub manifest_fetcher: Option<Result<ManifestFetcher, String>>,
    /// The last-known-good cache of an `https://`, manifest or `file://`
    /// source (not of `builtin:example`, which is compiled in).
    pub cache: Option<CacheStore>,
    /// `cluster.signing_keys`, raw Ed25519 public keys.
    pub signing_keys: Vec<[u8; 32]>,
    /// One pull at a time (the poller, `mfactl sync`, SIGHUP).
    pub sync_book: Mutex<SyncBook>,
    /// PIV attestation chains checked against `piv:`'s roots (read at start).
    pub piv: crate::piv::PivVerifier,
    /// Keys attached to this host: the PIV cards' access, the PIN cache.
    pub attached: crate::attached::AttachedKeys,
    /// The users earlier bundles held and the one in force does not
    /// (installed with each bundle; kept in `state_dir` once
    /// [`super::VanishedBook::persist_in`] is called).
    pub vanished: super::VanishedBook,
}

/// What the pulls remember between them.
#[derive(Debug, Default)]
pub struct SyncBook {
    /// When a confirmation of the installed bundle was last written to the cache.
    pub contact_saved_at: Option<SystemTime>,
    /// Manifest mode: the last-known-good manifest (from the state
    /// directory at start), which later manifests may not roll back.
    pub manifest_floor: Option<AcceptedManifest>,
    /// A `file://` source: the revision this agent last saved as the
    /// last-known-good copy (not saved again on each load of it).
    pub file_copy_revision: Option<String>,
}

impl AgentState {
    /// Builds the state from a checked configuration. Does not load the
    /// policy: see [`super::reload_now`].
    pub fn new(config: AgentConfig, audit: AuditSink, clock: Clock) -> Result<AgentState, String> {
        let services = config.service_map()?;
        let source = config.policy_source()?;
        let node_id = config.resolve_node_id();
        let node = NodeInfo {
            name: config.node_name(),
            id: node_id.id.clone(),
            labels: config.node.labels.clone(),
        };
        let (fetcher, manifest_fetcher) = match &source {
            PolicySource::Https(url) => (Some(HttpsFetcher::new(url, &config.cluster)), None),
            PolicySource::Manifest(m) => (None, Some(ManifestFetcher::new(m, &config.cluster))),
            _ => (None, None),
        };
        let cache = (!matches!(source, PolicySource::BuiltinExample)).then(|| {
            CacheStore::new(
                config.cluster.state_dir.clone(),
                source.describe(),
                config.cluster.max_bundle_bytes,
            )
        });
        let signing_keys = config.cluster.signing_keys.iter().map(|k| k.key).collect();
        let piv = crate::piv::PivVerifier::new(config.piv.trusted_roots()?);
        let keys_uid = nix::unistd::User::from_name(&config.socket.keys_user)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw());
        let audit = Arc::new(audit);
        let signature_counters = SignatureCounters::default();
        {
            let sink = Arc::clone(&audit);
            let node = node.name.clone();
            signature_counters.report_save_failures(Box::new(move |why: &str| {
                sink.write(&crate::audit::AuditEvent::new(
                    "state_write",
                    "error",
                    &node,
                    "",
                    why.to_string(),
                ));
            }));
        }
        Ok(AgentState {
            config: Live::new(config),
            node: Live::new(node),
            node_id: Live::new(node_id),
            services: Live::new(services),
            config_path: None,
            source,
            store: PolicyStore::default(),
            audit,
            peer_audit: PeerAuditLimit::default(),
            counters: Counters::default(),
            started: Instant::now(),
            keys_uid,
            served_keys: ServedKeys::default(),
            reuse: ReuseCache::default(),
            grants: Grants::default(),
            recorded_auth: RecordedAuthInfo::default(),
            signature_counters,
            used_challenges: UsedChallenges::default(),
            sessions: crate::sessions::SessionRegistry::default(),
            clock,
            fetcher,
            manifest_fetcher,
            cache,
            signing_keys,
            sync_book: Mutex::new(SyncBook::default()),
            piv,
            attached: crate::attached::AttachedKeys::new(crate::attached::default_host_piv()),
            vanished: super::VanishedBook::default(),
        })
    }

    /// The state `mfa-agent --check` judges with: audit events on standard
    /// error, and nothing written. A `file://` source's files are judged
    /// themselves: their last known good copy neither stands in for them
    /// nor is written. Any other source's state directory is read as a
    /// start reads it (the cached bundle, the rollback floor, a pull held
    /// against that floor) and never written: a check of another agent.yaml
    /// (a new mirror, a staging publisher) that saved its pull would leave
    /// the running agent's next start a copy of another source, refused,
    /// and no policy; or a floor raised past the real publisher's serial.
    pub fn for_check(config: AgentConfig, clock: Clock) -> Result<AgentState, String> {
        let mut state = AgentState::new(config, AuditSink::Stderr, clock)?;
        state.cache = match state.source {
            PolicySource::Path(_) => None,
            _ => state.cache.take().map(CacheStore::read_only),
        };
        Ok(state)
    }

    /// `attached_keys.piv_reader`, when set.
    pub fn attached_reader(&self) -> Option<String> {
        self.config
            .attached_keys
            .piv_reader
            .clone()
            .filter(|r| !r.is_empty())
    }

    pub fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// The revision of the current policy, or an empty string.
    pub fn revision(&self) -> String {
        self.store
            .current()
            .map(|b| b.revision.clone())
            .unwrap_or_default()
    }

    /// Writes `ev`. An event of a decision a non-root peer asked for is
    /// rate-limited per uid (any user may loop `begin` about themselves,
    /// and journald would then drop the records of real sshd and sudo
    /// decisions); what is left out is said in one event before the next
    /// one written. Root peers' are always written.
    pub fn audit(&self, ev: &AuditEvent) {
        if let Some(uid) = ev.peer_uid.filter(|&uid| uid != 0) {
            match self.peer_audit.admit(uid, self.now()) {
                Admission::Suppress => return,
                Admission::Write { suppressed: 0 } => {}
                Admission::Write { suppressed } => {
                    self.audit.write(&suppressed_summary(ev, uid, suppressed))
                }
            }
        }
        self.audit.write(ev);
    }
}

/// The event that says `n` events of `uid` before `next` were left out.
fn suppressed_summary(next: &AuditEvent, uid: u32, n: u64) -> AuditEvent {
    let mut ev = AuditEvent::new(
        "audit_suppressed",
        "suppressed",
        &next.node,
        &next.policy_revision,
        format!(
            "{n} decision events of uid {uid} suppressed (a non-root peer's own: {BURST} at once, then one every {}s)",
            REFILL_EVERY.as_secs()
        ),
    );
    ev.peer_uid = Some(uid);
    ev
}
