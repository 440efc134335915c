//! `mfactl publish`: Teleport's resources in, a signed set of plain files
//! out, for agents to pull from any web server, object store or CDN.
//!
//! `input` reads what `tctl get ... --with-secrets` printed (or `tctl` runs
//! it); `build` loads it as the agent does and copies only the allowlisted
//! fields (`shapes`, `allowlist`, `secrets`); `out_dir` writes the bundle,
//! the signature and the manifest atomically; `rounds` publishes once or
//! every `--interval`.

mod allowlist;
mod build;
mod clusters;
mod device_shapes;
mod input;
mod out_dir;
mod rounds;
mod secrets;
mod shape;
mod shapes;
mod signing_key;
mod tctl;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use build::{build_bundle, Built};
pub use input::Source;
pub use out_dir::BUNDLES_KEPT;
pub use rounds::run_publish;
pub use signing_key::PublishKey;
pub use tctl::{TctlOptions, TCTL_LOGIN_STATES, TCTL_RESOURCES};

use crate::sync::manifest_format::{rfc3339_utc, Manifest};
use out_dir::OutDir;

/// What `mfactl publish` was asked to do.
#[derive(Debug, Clone)]
pub struct PublishArgs {
    /// `--from PATH|-`: tctl's output (a file, a directory, standard input).
    pub from: Option<PathBuf>,
    /// `--tctl`: run tctl instead.
    pub tctl: Option<TctlOptions>,
    /// `--devices DIR`: our own `mfa_device` documents.
    pub devices: Option<PathBuf>,
    /// `--out DIR`.
    pub out: PathBuf,
    /// `--signing-key FILE`.
    pub signing_key: PathBuf,
    /// `--source-name NAME` (default: the cluster's name, from its CAs).
    pub source_name: Option<String>,
    /// `--cluster-name`: this cluster, whose CAs alone are published.
    pub cluster_name: Option<String>,
    /// `--valid-for`: from issued_at to expires_at.
    pub valid_for: Duration,
    /// `--interval`: publish again every so often, until SIGTERM.
    pub interval: Option<Duration>,
}

/// One publication.
#[derive(Debug, Clone)]
pub struct Published {
    pub manifest: Manifest,
    /// Counts for the log line.
    pub roles: usize,
    pub users: usize,
    pub locks: usize,
    pub devices: usize,
    pub secret_fields: usize,
    /// Older bundles removed.
    pub pruned: usize,
}

impl Published {
    /// The one line a round logs.
    pub fn line(&self) -> String {
        let m = &self.manifest;
        format!(
            "published serial {} of {:?}: {} ({} bytes; {} roles, {} users, {} locks, {} devices; {} secret fields left out), expires {}",
            m.serial,
            m.source,
            m.bundle.path,
            m.bundle.size,
            self.roles,
            self.users,
            self.locks,
            self.devices,
            self.secret_fields,
            rfc3339_utc(m.expires_at)
        )
    }
}

/// The publisher's inputs.
pub(crate) struct Inputs {
    /// tctl's output (its runs, or `--from`).
    pub resources: Vec<Source>,
    /// `--devices`.
    pub devices: Vec<Source>,
    /// What the operator should know of how they were read.
    pub notes: Vec<String>,
}

/// Reads the inputs (tctl's output, then `--devices`).
pub(crate) fn read_inputs(args: &PublishArgs) -> Result<Inputs, String> {
    let (resources, notes) = match (&args.tctl, &args.from) {
        (Some(t), None) => {
            let out = tctl::run_tctl(t)?;
            (out.sources, out.notes)
        }
        (None, Some(from)) => (input::read_from(from)?, Vec::new()),
        _ => return Err("give --from PATH (or -) or --tctl".into()),
    };
    let devices = match &args.devices {
        Some(d) => input::read_path(d)?,
        None => Vec::new(),
    };
    Ok(Inputs {
        resources,
        devices,
        notes,
    })
}

/// The source name: given, else the one cluster name the CAs carry.
fn source_name(args: &PublishArgs, built: &Built) -> Result<String, String> {
    if let Some(name) = &args.source_name {
        return check_source_name(name);
    }
    match &built.cluster {
        Some(cluster) => check_source_name(cluster),
        None => Err(
            "give --source-name NAME: the input has no cert_authority to name the cluster".into(),
        ),
    }
}

/// The manifest format's rule (what agents check `cluster.source_name` by).
fn check_source_name(name: &str) -> Result<String, String> {
    crate::sync::manifest_format::check_source_name(name)
        .map(|()| name.to_owned())
        .map_err(|e| format!("source name: {e}"))
}

/// One publication at `now`: read, build, sign, write. Nothing in `--out`
/// changes unless every step before the writes succeeded.
pub fn publish_once(
    args: &PublishArgs,
    key: &PublishKey,
    now: SystemTime,
) -> Result<Published, String> {
    let inputs = read_inputs(args)?;
    for note in &inputs.notes {
        eprintln!("mfactl publish: warning: {note}");
    }
    let built = build_bundle(
        &inputs.resources,
        &inputs.devices,
        args.cluster_name.as_deref(),
    )?;
    for w in &built.warnings {
        eprintln!("mfactl publish: warning: {w}");
    }
    let source = source_name(args, &built)?;
    let out = OutDir::open(&args.out)?;
    let (previous, warning) = out.previous_serial();
    if let Some(w) = warning {
        eprintln!("mfactl publish: warning: the previous manifest: {w}");
    }
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970".to_string())?
        .as_secs();
    // The approval page beside the bundle, so the same static host can serve
    // it (agent.yaml's `approval_url`); rewritten each round, so an upgraded
    // mfactl brings its page along.
    let web = args.out.join("web");
    crate::web_assets::write_web_dir(&web)
        .map_err(|e| format!("writing the approval page into {}: {e}", web.display()))?;
    let bundle = out.put_bundle(built.text.as_bytes())?;
    let manifest = Manifest {
        source,
        serial: previous.saturating_add(1).max(unix),
        issued_at: now,
        expires_at: now + args.valid_for,
        bundle,
    };
    let bytes = manifest.to_bytes();
    out.put_signed_manifest(&bytes, &key.sign(&bytes))?;
    let current = format!("{}.json", manifest.bundle.sha256);
    let pruned = out.prune(&current)?.len();
    let b = &built.bundle;
    Ok(Published {
        manifest,
        roles: b.roles().len(),
        users: b.users().len(),
        locks: b.locks().len(),
        devices: b.devices().len(),
        secret_fields: built.secret_fields,
        pruned,
    })
}
