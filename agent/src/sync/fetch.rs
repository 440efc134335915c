//! One pull from an HTTPS source: conditional GET with the last ETag, a
//! bearer token read from its file, a size cap, and the detached signature.

use std::io::Read;
use std::path::PathBuf;

use reqwest::blocking::{Client, Response};
use reqwest::header::IF_NONE_MATCH;
use reqwest::{StatusCode, Url};

use super::trust::tls_config;
use crate::config::{https_url, ClusterConfig};

/// A body and its ETag.
pub type Got = (Vec<u8>, Option<String>);

/// The largest detached signature file accepted.
const MAX_SIGNATURE_BYTES: u64 = 4096;

/// What a pull brought.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the bundle with the ETag we sent is still current.
    NotModified,
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        /// The detached signature file's bytes, when signing keys are configured.
        signature: Option<Vec<u8>>,
    },
}

pub struct HttpsFetcher {
    client: Client,
    url: Url,
    signature_url: Option<Url>,
    token_file: Option<PathBuf>,
    max_bytes: u64,
}

impl HttpsFetcher {
    pub fn new(url: &Url, cluster: &ClusterConfig) -> Result<HttpsFetcher, String> {
        let tls = tls_config(cluster.ca_file.as_deref(), &cluster.ca_pins)?;
        let client = Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .connect_timeout(cluster.connect_timeout)
            .timeout(cluster.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .no_proxy()
            .user_agent(concat!("pam-mfa/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTPS client: {}", chain(&e)))?;
        let signature_url = if cluster.signing_keys.is_empty() {
            None
        } else {
            Some(match &cluster.signature_source {
                Some(s) => https_url(s, "cluster.signature_source")?,
                None => sibling_signature_url(url),
            })
        };
        Ok(HttpsFetcher {
            client,
            url: url.clone(),
            signature_url,
            token_file: cluster.token_file.clone(),
            max_bytes: cluster.max_bundle_bytes,
        })
    }

    /// Pulls the bundle; `etag` (of the bundle in force) makes it conditional.
    pub fn fetch(&self, etag: Option<&str>) -> Result<Fetched, String> {
        let token = self.token()?;
        let resp = self.get(&self.url, token.as_deref(), etag)?;
        if resp.status() == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(Fetched::NotModified);
        }
        let new_etag = super::etag::settled_etag(resp.headers());
        let bytes = read_capped(resp, self.max_bytes, "bundle")?;
        let signature = match &self.signature_url {
            None => None,
            Some(u) => {
                let resp = self
                    .get(u, token.as_deref(), None)
                    .map_err(|e| format!("signature {u}: {e}"))?;
                Some(read_capped(resp, MAX_SIGNATURE_BYTES, "signature")?)
            }
        };
        Ok(Fetched::Body {
            bytes,
            etag: new_etag,
            signature,
        })
    }

    /// One conditional GET of `url` with the source's token, trust and
    /// timeouts, capped at `max` bytes: `None` on a 304 to `etag`.
    pub fn get_capped(
        &self,
        url: &Url,
        etag: Option<&str>,
        max: u64,
        what: &str,
    ) -> Result<Option<Got>, String> {
        let token = self.token()?;
        let resp = self.get(url, token.as_deref(), etag)?;
        if resp.status() == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(None);
        }
        let new_etag = super::etag::settled_etag(resp.headers());
        Ok(Some((read_capped(resp, max, what)?, new_etag)))
    }

    fn get(&self, url: &Url, token: Option<&str>, etag: Option<&str>) -> Result<Response, String> {
        let mut req = self.client.get(url.clone());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(e) = etag {
            req = req.header(IF_NONE_MATCH, e);
        }
        let resp = req.send().map_err(|e| chain(&e))?;
        let status = resp.status();
        if status == StatusCode::OK || (status == StatusCode::NOT_MODIFIED && etag.is_some()) {
            return Ok(resp);
        }
        Err(format!("{url}: HTTP {status}"))
    }

    /// The bearer token, read on every pull so a rotated token needs no restart.
    fn token(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let bytes = super::safe_file::read_private_file(path, 64 * 1024, false)
            .map_err(|e| format!("cluster.token_file: {e}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| "cluster.token_file: not UTF-8 text".to_string())?;
        let token = text.trim();
        if token.is_empty() || token.contains(|c: char| c.is_control()) {
            return Err("cluster.token_file: empty, or more than one line".into());
        }
        Ok(Some(token.to_string()))
    }
}

/// `https://h/p/bundle.yaml?x=1` → `https://h/p/bundle.yaml.sig?x=1`.
fn sibling_signature_url(url: &Url) -> Url {
    let mut u = url.clone();
    let path = format!("{}.sig", url.path());
    u.set_path(&path);
    u
}

fn read_capped(resp: Response, max: u64, what: &str) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length() {
        if len > max {
            return Err(format!(
                "the {what} is {len} bytes, over the limit of {max}"
            ));
        }
    }
    let mut buf = Vec::new();
    resp.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading the {what}: {}", chain(&e)))?;
    if buf.len() as u64 > max {
        return Err(format!("the {what} is over the limit of {max} bytes"));
    }
    Ok(buf)
}

/// An error with its causes, which is where reqwest keeps the useful part
/// ("connection refused", "pin mismatch", "operation timed out").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_url_keeps_the_query() {
        let u = Url::parse("https://cdn.example/p/bundle.yaml?v=1").unwrap();
        assert_eq!(
            sibling_signature_url(&u).as_str(),
            "https://cdn.example/p/bundle.yaml.sig?v=1"
        );
    }
}
