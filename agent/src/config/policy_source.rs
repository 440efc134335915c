//! Where the policy comes from (`cluster.source`): a file or directory,
//! the built-in example, an https:// bundle, or a publisher's signed
//! manifest.

use std::path::PathBuf;

use super::https_url::https_url;
use super::manifest_source::ManifestSource;
use crate::sync::manifest_format::MANIFEST_FILE;

/// Where the policy bundle comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A file, or a directory of `*.yaml`, `*.yml` and `*.json` files.
    Path(PathBuf),
    /// The seed example compiled into the binary (demos and first tries).
    BuiltinExample,
    /// A bundle served over HTTPS.
    Https(reqwest::Url),
    /// A signed manifest (`.../manifest.json`) naming the bundle.
    Manifest(ManifestSource),
}

impl PolicySource {
    pub fn parse(text: &str) -> Result<PolicySource, String> {
        if text == "builtin:example" {
            return Ok(PolicySource::BuiltinExample);
        }
        if let Some(manifest) = ManifestSource::recognise(text) {
            return manifest.map(PolicySource::Manifest);
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
            return https_url(text, "cluster.source").map(PolicySource::Https);
        }
        Err(format!(
            "cluster.source '{text}' must start with https:// or file://, or be builtin:example"
        ))
    }

    pub fn describe(&self) -> String {
        match self {
            PolicySource::Path(p) => format!("file://{}", p.display()),
            PolicySource::BuiltinExample => "builtin:example".into(),
            PolicySource::Https(u) => u.to_string(),
            PolicySource::Manifest(m) => m.describe(),
        }
    }
}

/// For `mfactl check` and `doctor`: an https:// bundle source (not a
/// manifest) has no rollback protection.
pub fn bundle_mode_warning(source: &PolicySource) -> Option<String> {
    let PolicySource::Https(url) = source else {
        return None;
    };
    Some(format!(
        "cluster.source {url} is a bundle, not a signed manifest: it has no rollback protection (whoever controls the server or CDN can serve any older signed bundle, and it counts as fresh contact); publish with `mfactl publish --out DIR` and point cluster.source at DIR's /{MANIFEST_FILE}"
    ))
}
