//! Manifest mode: a `cluster.source` that ends in `/manifest.json` names a
//! publisher directory (`mfactl publish --out DIR`) over https:// or file://.
//! The agent then reads the signed manifest first and the bundle it names,
//! and refuses rollbacks (see `state::manifest_pull`).

use std::path::PathBuf;

use super::https_url::https_url;
use crate::sync::manifest_format::MANIFEST_FILE;

/// Where a manifest is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestSource {
    Https(reqwest::Url),
    /// The manifest file's absolute path.
    File(PathBuf),
}

impl ManifestSource {
    /// `text` names a manifest: its path ends in `/manifest.json`.
    pub fn recognise(text: &str) -> Option<Result<ManifestSource, String>> {
        let suffix = format!("/{MANIFEST_FILE}");
        if let Some(path) = text.strip_prefix("file://") {
            if !path.ends_with(&suffix) {
                return None;
            }
            if !path.starts_with('/') {
                return Some(Err(format!(
                    "cluster.source '{text}': a file:// source needs an absolute path"
                )));
            }
            return Some(Ok(ManifestSource::File(PathBuf::from(path))));
        }
        if text.starts_with("https://") || text.starts_with("http://") {
            let url = match https_url(text, "cluster.source") {
                Ok(u) => u,
                Err(e) => return Some(Err(e)),
            };
            return url
                .path()
                .ends_with(&suffix)
                .then_some(Ok(ManifestSource::Https(url)));
        }
        None
    }

    pub fn describe(&self) -> String {
        match self {
            ManifestSource::Https(u) => u.to_string(),
            ManifestSource::File(p) => format!("file://{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{AgentConfig, PolicySource};

    fn key() -> String {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes();
        format!(
            "ed25519:{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw)
        )
    }

    fn parse(source: &str, extra: &str) -> Result<AgentConfig, String> {
        let text = format!("cluster:\n  source: {source}\n{extra}");
        AgentConfig::parse(&text, "a.yaml").map_err(|e| e.to_string())
    }

    #[test]
    fn manifest_mode_is_recognised_with_its_keys() {
        let keys = format!("  signing_keys: [\"{}\"]\n  source_name: prod\n", key());
        for source in [
            "https://p.example/fleet/manifest.json",
            "file:///srv/pub/manifest.json",
        ] {
            let cfg = parse(source, &keys).unwrap();
            let src = cfg.policy_source().unwrap();
            assert!(matches!(src, PolicySource::Manifest(_)), "{src:?}");
            assert_eq!(src.describe(), source);
        }
        // A bundle source is not a manifest source.
        let cfg = parse("https://p.example/fleet/bundle.yaml", "").unwrap();
        assert!(matches!(
            cfg.policy_source().unwrap(),
            PolicySource::Https(_)
        ));
        let cfg = parse("https://p.example/my-manifest.json", "").unwrap();
        assert!(matches!(
            cfg.policy_source().unwrap(),
            PolicySource::Https(_)
        ));
    }

    #[test]
    fn only_an_https_bundle_source_is_warned_about() {
        let w = |s: &str| crate::config::bundle_mode_warning(&PolicySource::parse(s).unwrap());
        assert!(w("https://p.example/b.yaml")
            .unwrap()
            .contains("no rollback protection"));
        assert!(w("https://p.example/manifest.json").is_none());
        assert!(w("file:///etc/pam-mfa/policy.d").is_none());
    }

    #[test]
    fn manifest_mode_errors_are_clear() {
        let m = "https://p.example/manifest.json";
        let k = format!("  signing_keys: [\"{}\"]\n", key());
        let cases = [
            (
                m,
                "  source_name: prod\n".to_string(),
                "needs cluster.signing_keys",
            ),
            (m, k.clone(), "needs cluster.source_name"),
            (
                m,
                format!("{k}  source_name: \"\"\n"),
                "cluster.source_name",
            ),
            (
                m,
                format!("{k}  source_name: p\n  signature_source: https://p.example/s\n"),
                "signature_source is for a bundle source",
            ),
            (
                "file:///srv/manifest.json",
                format!("{k}  source_name: p\n  token_file: /t\n"),
                "token_file only apply",
            ),
            (
                "file://srv/manifest.json",
                format!("{k}  source_name: p\n"),
                "absolute path",
            ),
            (
                "http://p.example/manifest.json",
                format!("{k}  source_name: p\n"),
                "plain http",
            ),
            (
                "https://p.example/bundle.yaml",
                "  source_name: p\n".to_string(),
                "only applies to a manifest source",
            ),
        ];
        for (source, extra, needle) in cases {
            let e = parse(source, &extra).unwrap_err();
            assert!(e.starts_with("a.yaml: "), "{e}");
            assert!(e.contains(needle), "{source} {extra}: {e}");
        }
    }
}
