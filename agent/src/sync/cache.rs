//! The last known good bundle of a source (HTTPS, manifest or `file://`),
//! kept under the state directory so the host decides after a restart as
//! before, offline or with the source's files gone or broken.
//!
//! `last-known-good.json` holds the bundle text and what is known about it
//! (source, ETag, fetch time, SHA-256, signature; for a `file://` source the
//! files it was read from), written atomically as one file when a new bundle
//! is accepted. `last-contact.json` holds the last
//! time the source confirmed that bundle (a 304), written at most once a
//! minute, so that a restart neither makes an old bundle look fresh nor a
//! recently confirmed one look old.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::manifest_check::AcceptedManifest;
use super::manifest_floor::{floor_to_record, load_floor};
use super::safe_file::{read_private_file, write_private_file};
pub use super::sha256_hex::hex_sha256;

pub const BUNDLE_FILE: &str = "last-known-good.json";
pub const CONTACT_FILE: &str = "last-contact.json";
const FORMAT: u32 = 1;

/// A bundle accepted from the source, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastKnownGood {
    pub source: String,
    pub etag: Option<String>,
    pub fetched_at: SystemTime,
    /// The last time the source confirmed this bundle (at least `fetched_at`).
    pub confirmed_at: SystemTime,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    pub signature: Option<Vec<u8>>,
    pub bytes: Vec<u8>,
    /// Manifest mode: the manifest the bundle was accepted with (its
    /// serial is the floor a restarted agent holds later manifests to).
    pub manifest: Option<CachedManifest>,
    /// A `file://` source: the files `bytes` was read from, in order (a
    /// directory's bundle is its files read one after another; `bytes` is
    /// them put end to end, whose SHA-256 is the bundle's revision).
    pub files: Option<Vec<CachedFile>>,
}

/// One file of a `file://` source's cached bundle: its name and how many
/// of the bundle's bytes are its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachedFile {
    pub origin: String,
    pub bytes: usize,
}

impl LastKnownGood {
    /// A `file://` source's bundle as the files it was read from (name,
    /// text), to be loaded again as they were; an error when the recorded
    /// lengths do not cut `bytes` into UTF-8 texts that fill it.
    pub fn file_texts(&self) -> Result<Vec<(String, String)>, String> {
        let files = self
            .files
            .as_ref()
            .ok_or("it holds no files: it is not the copy of a file:// source")?;
        let text =
            std::str::from_utf8(&self.bytes).map_err(|_| "the bundle is not UTF-8".to_string())?;
        let mut at = 0usize;
        let mut texts = Vec::with_capacity(files.len());
        for f in files {
            let end = at.saturating_add(f.bytes);
            let part = text
                .get(at..end)
                .ok_or_else(|| format!("the recorded length of {} does not fit", f.origin))?;
            texts.push((f.origin.clone(), part.to_string()));
            at = end;
        }
        if at != text.len() || texts.is_empty() {
            return Err("the recorded files do not make up the bundle".into());
        }
        Ok(texts)
    }
}

/// The signed manifest of a cached bundle, as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedManifest {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    format: u32,
    source: String,
    etag: Option<String>,
    /// Unix milliseconds.
    fetched_at_ms: u64,
    sha256: String,
    signature: Option<String>,
    bundle: String,
    /// Manifest mode: the manifest's text and its signature file's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest_signature: Option<String>,
    /// A `file://` source: the files `bundle` was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<Vec<CachedFile>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactFile {
    format: u32,
    source: String,
    sha256: String,
    confirmed_at_ms: u64,
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Whether a [`CacheStore`] keeps what it is given in its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheWrites {
    /// The running agent: accepted bundles, the source's confirmations and
    /// the rollback floor are written to the directory.
    Kept,
    /// `mfa-agent --check` and other readers: the directory is read as a
    /// starting agent reads it, and nothing is written to it (not even the
    /// directory made). A save is checked as usual and then dropped, and
    /// says `Ok`: a check judges what a start would load, and must not
    /// change what the running agent, or its next start, finds there.
    Dropped,
}

/// The cache of one source in one directory. The one writer of the sync
/// files in `cluster.state_dir` (`last-known-good.json`,
/// `last-contact.json`, the rollback floor), so that a read-only store
/// ([`CacheStore::read_only`]) writes none of them.
#[derive(Debug, Clone)]
pub struct CacheStore {
    /// Private: a caller writing there itself would bypass `writes`.
    dir: PathBuf,
    pub source: String,
    /// The largest bundle accepted; the file may be a little larger (JSON).
    pub max_bundle_bytes: u64,
    writes: CacheWrites,
}

impl CacheStore {
    /// The cache of `source` in `dir`, written to.
    pub fn new(dir: PathBuf, source: String, max_bundle_bytes: u64) -> CacheStore {
        CacheStore {
            dir,
            source,
            max_bundle_bytes,
            writes: CacheWrites::Kept,
        }
    }

    /// The same cache, read only: every save is dropped.
    pub fn read_only(self) -> CacheStore {
        CacheStore {
            writes: CacheWrites::Dropped,
            ..self
        }
    }

    pub fn writes(&self) -> CacheWrites {
        self.writes
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(BUNDLE_FILE)
    }

    /// Writes `name` in the directory, unless the store is read only:
    /// every write of the store goes through here.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        match self.writes {
            CacheWrites::Kept => write_private_file(&self.dir, name, bytes),
            CacheWrites::Dropped => Ok(()),
        }
    }

    /// The rollback floor recorded for source `name` (see
    /// [`super::load_floor`]).
    pub fn load_floor(&self, name: &str) -> Result<Option<AcceptedManifest>, String> {
        load_floor(&self.dir, name)
    }

    /// Records `floor` as the floor of its source, unless a higher one is
    /// recorded already (the file never goes down).
    pub fn save_floor(&self, floor: &AcceptedManifest) -> Result<(), String> {
        match floor_to_record(&self.dir, floor)? {
            Some((name, json)) => self.write(&name, &json),
            None => Ok(()),
        }
    }

    /// Saves an accepted bundle (and forgets an older confirmation).
    pub fn save(&self, lkg: &LastKnownGood) -> Result<(), String> {
        let text = std::str::from_utf8(&lkg.bytes)
            .map_err(|_| "the bundle is not UTF-8 text".to_string())?;
        let file = BundleFile {
            format: FORMAT,
            source: lkg.source.clone(),
            etag: lkg.etag.clone(),
            fetched_at_ms: to_ms(lkg.fetched_at),
            sha256: lkg.sha256.clone(),
            signature: lkg.signature.as_ref().map(|s| STANDARD.encode(s)),
            bundle: text.to_string(),
            manifest: match &lkg.manifest {
                Some(m) => Some(
                    String::from_utf8(m.bytes.clone())
                        .map_err(|_| "the manifest is not UTF-8 text".to_string())?,
                ),
                None => None,
            },
            manifest_signature: match &lkg.manifest {
                Some(m) => Some(
                    String::from_utf8(m.signature.clone())
                        .map_err(|_| "the manifest signature is not text".to_string())?,
                ),
                None => None,
            },
            files: lkg.files.clone(),
        };
        let json = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
        self.write(BUNDLE_FILE, &json)?;
        self.save_contact(&lkg.sha256, lkg.confirmed_at)
    }

    /// Records that the source confirmed the bundle `sha256` at `at`.
    pub fn save_contact(&self, sha256: &str, at: SystemTime) -> Result<(), String> {
        let file = ContactFile {
            format: FORMAT,
            source: self.source.clone(),
            sha256: sha256.to_string(),
            confirmed_at_ms: to_ms(at),
        };
        let json = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
        self.write(CONTACT_FILE, &json)
    }

    /// Reads and checks the cache: `Ok(None)` when there is none. The
    /// bundle's SHA-256 must match, and it must be for this source. (Its
    /// signature and its parse are checked by the caller.)
    pub fn load(&self) -> Result<Option<LastKnownGood>, String> {
        let path = self.path();
        let shown = path.display().to_string();
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        let max = self
            .max_bundle_bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024);
        let raw = read_private_file(&path, max, true)?;
        let file: BundleFile = serde_json::from_slice(&raw)
            .map_err(|e| format!("{shown}: not a pam-mfa cache file: {e}"))?;
        if file.format != FORMAT {
            return Err(format!("{shown}: unknown cache format {}", file.format));
        }
        if file.source != self.source {
            return Err(format!(
                "{shown}: cached from {}, not from the configured source {}",
                file.source, self.source
            ));
        }
        let sha = hex_sha256(file.bundle.as_bytes());
        if sha != file.sha256 {
            return Err(format!(
                "{shown}: the bundle's SHA-256 is {sha}, not the recorded {} (tampered or damaged)",
                file.sha256
            ));
        }
        let signature = match &file.signature {
            Some(s) => Some(
                STANDARD
                    .decode(s)
                    .map_err(|e| format!("{shown}: bad signature encoding: {e}"))?,
            ),
            None => None,
        };
        let fetched_at = from_ms(file.fetched_at_ms);
        let confirmed_at = self
            .load_contact(&sha)
            .unwrap_or(fetched_at)
            .max(fetched_at);
        Ok(Some(LastKnownGood {
            source: file.source,
            etag: file.etag,
            fetched_at,
            confirmed_at,
            sha256: sha,
            signature,
            bytes: file.bundle.into_bytes(),
            manifest: match (file.manifest, file.manifest_signature) {
                (Some(m), Some(s)) => Some(CachedManifest {
                    bytes: m.into_bytes(),
                    signature: s.into_bytes(),
                }),
                (None, None) => None,
                _ => return Err(format!("{shown}: a manifest without its signature")),
            },
            files: file.files,
        }))
    }

    fn load_contact(&self, sha256: &str) -> Option<SystemTime> {
        let raw = read_private_file(&self.dir.join(CONTACT_FILE), 4096, true).ok()?;
        let c: ContactFile = serde_json::from_slice(&raw).ok()?;
        (c.format == FORMAT && c.source == self.source && c.sha256 == sha256)
            .then(|| from_ms(c.confirmed_at_ms))
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
