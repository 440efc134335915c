//! Reading a publisher directory: the manifest and its signature (the
//! manifest conditional on its ETag), and the bundle it names, over HTTPS
//! (the source's token, CA file or pins, within the pull's deadline) or
//! from local files (read at once: the deadline is the network's).

use std::path::{Path, PathBuf};

use reqwest::Url;

use super::deadline::PullDeadline;
use super::fetch::HttpsFetcher;
use super::manifest_format::{check_bundle_path, MAX_MANIFEST_BYTES};
use super::safe_file::read_private_file;
use crate::config::{ClusterConfig, ManifestSource};

/// A manifest as read, before any check.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
    pub etag: Option<String>,
}

enum Transport {
    Https { client: Box<HttpsFetcher>, url: Url },
    File { path: PathBuf },
}

pub struct ManifestFetcher {
    transport: Transport,
}

impl ManifestFetcher {
    pub fn new(
        source: &ManifestSource,
        cluster: &ClusterConfig,
    ) -> Result<ManifestFetcher, String> {
        let transport = match source {
            ManifestSource::Https(url) => Transport::Https {
                client: Box::new(HttpsFetcher::new(url, cluster)?),
                url: url.clone(),
            },
            ManifestSource::File(path) => Transport::File { path: path.clone() },
        };
        Ok(ManifestFetcher { transport })
    }

    /// A fetcher of a local publisher directory's manifest (tests, file://).
    pub fn file(manifest: &Path) -> ManifestFetcher {
        ManifestFetcher {
            transport: Transport::File {
                path: manifest.to_path_buf(),
            },
        }
    }

    /// The manifest and its signature; `None` when the server says the
    /// manifest with `etag` is still current (304).
    pub fn fetch_manifest(
        &self,
        etag: Option<&str>,
        deadline: &PullDeadline,
    ) -> Result<Option<FetchedManifest>, String> {
        match &self.transport {
            Transport::Https { client, url } => {
                let Some((bytes, etag)) =
                    client.get_capped(url, etag, MAX_MANIFEST_BYTES, "manifest", deadline)?
                else {
                    return Ok(None);
                };
                let sig_url = signature_url(url);
                let (signature, _) = client
                    .get_capped(
                        &sig_url,
                        None,
                        MAX_MANIFEST_BYTES,
                        "manifest signature",
                        deadline,
                    )
                    .map_err(|e| format!("manifest signature: {e}"))?
                    .ok_or("manifest signature: unexpected 304")?;
                Ok(Some(FetchedManifest {
                    bytes,
                    signature,
                    etag,
                }))
            }
            Transport::File { path } => {
                let bytes = read_private_file(path, MAX_MANIFEST_BYTES, false)?;
                let sig_path = PathBuf::from(format!("{}.sig", path.display()));
                let signature = read_private_file(&sig_path, MAX_MANIFEST_BYTES, false)?;
                Ok(Some(FetchedManifest {
                    bytes,
                    signature,
                    etag: None,
                }))
            }
        }
    }

    /// The bundle at `relative` (to the manifest), at most `max` bytes.
    pub fn fetch_bundle(
        &self,
        relative: &str,
        max: u64,
        deadline: &PullDeadline,
    ) -> Result<Vec<u8>, String> {
        check_bundle_path(relative).map_err(|e| format!("bundle.path: {e}"))?;
        match &self.transport {
            Transport::Https { client, url } => {
                let target = bundle_url(url, relative)?;
                let (bytes, _) = client
                    .get_capped(&target, None, max, "bundle", deadline)?
                    .ok_or("bundle: unexpected 304")?;
                Ok(bytes)
            }
            Transport::File { path } => {
                let dir = path.parent().ok_or("the manifest path has no directory")?;
                read_private_file(&dir.join(relative), max, false)
            }
        }
    }
}

/// `https://h/p/manifest.json?x` → `https://h/p/manifest.json.sig?x`.
fn signature_url(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_path(&format!("{}.sig", url.path()));
    u
}

/// `relative` beside the manifest, on the same origin (the query of the
/// manifest's URL is not carried over).
fn bundle_url(manifest: &Url, relative: &str) -> Result<Url, String> {
    let u = manifest
        .join(relative)
        .map_err(|e| format!("bundle.path {relative:?}: {e}"))?;
    let dir = &manifest.path()[..manifest.path().rfind('/').map_or(0, |i| i + 1)];
    if u.origin() != manifest.origin() || !u.path().starts_with(dir) {
        return Err(format!(
            "bundle.path {relative:?} leaves the manifest's directory"
        ));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_and_signature_urls_stay_beside_the_manifest() {
        let m = Url::parse("https://cdn.example/fleet/manifest.json?v=1").unwrap();
        assert_eq!(
            signature_url(&m).as_str(),
            "https://cdn.example/fleet/manifest.json.sig?v=1"
        );
        assert_eq!(
            bundle_url(&m, "bundles/ab.json").unwrap().as_str(),
            "https://cdn.example/fleet/bundles/ab.json"
        );
        assert!(bundle_url(&m, "../x.json").is_err());
        assert!(bundle_url(&m, "//evil.example/x").is_err());
    }
}
