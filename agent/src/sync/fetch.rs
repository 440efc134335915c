//! One pull from an HTTPS source: conditional GET with the last ETag, a
//! bearer token read from its file, a size cap, and the detached signature,
//! all within the pull's one deadline ([`PullDeadline`], `cluster.timeout`).

use std::io::Read;
use std::path::PathBuf;

use reqwest::blocking::{Client, Response};
use reqwest::header::IF_NONE_MATCH;
use reqwest::{StatusCode, Url};

use super::deadline::PullDeadline;
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
            // No client-wide `timeout`: reqwest's blocking client applies
            // it to each read of a body, so a server dripping a byte at a
            // time held a pull open for ever. Each request gets the time
            // left of its pull instead (`get`).
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

    /// Pulls the bundle; `etag` (of the bundle in force) makes it
    /// conditional. Both requests end by `deadline`.
    pub fn fetch(&self, etag: Option<&str>, deadline: &PullDeadline) -> Result<Fetched, String> {
        let token = self.token()?;
        let resp = self.get(&self.url, token.as_deref(), etag, deadline)?;
        if resp.status() == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(Fetched::NotModified);
        }
        let new_etag = super::etag::settled_etag(resp.headers());
        let bytes = read_response(resp, self.max_bytes, "bundle", deadline)?;
        let signature = match &self.signature_url {
            None => None,
            Some(u) => {
                let resp = self
                    .get(u, token.as_deref(), None, deadline)
                    .map_err(|e| format!("signature {u}: {e}"))?;
                Some(read_response(
                    resp,
                    MAX_SIGNATURE_BYTES,
                    "signature",
                    deadline,
                )?)
            }
        };
        Ok(Fetched::Body {
            bytes,
            etag: new_etag,
            signature,
        })
    }

    /// One conditional GET of `url` with the source's token and trust,
    /// ended by `deadline`, capped at `max` bytes: `None` on a 304 to `etag`.
    pub fn get_capped(
        &self,
        url: &Url,
        etag: Option<&str>,
        max: u64,
        what: &str,
        deadline: &PullDeadline,
    ) -> Result<Option<Got>, String> {
        let token = self.token()?;
        let resp = self.get(url, token.as_deref(), etag, deadline)?;
        if resp.status() == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(None);
        }
        let new_etag = super::etag::settled_etag(resp.headers());
        Ok(Some((read_response(resp, max, what, deadline)?, new_etag)))
    }

    /// The request's timeout is the time left of the pull: reqwest ends it
    /// (connection, headers and body, each read included) at the deadline.
    fn get(
        &self,
        url: &Url,
        token: Option<&str>,
        etag: Option<&str>,
        deadline: &PullDeadline,
    ) -> Result<Response, String> {
        let mut req = self.client.get(url.clone()).timeout(deadline.remaining()?);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(e) = etag {
            req = req.header(IF_NONE_MATCH, e);
        }
        let resp = req.send().map_err(|e| deadline.explain(chain(&e)))?;
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

fn read_response(
    resp: Response,
    max: u64,
    what: &str,
    deadline: &PullDeadline,
) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length() {
        if len > max {
            return Err(format!(
                "the {what} is {len} bytes, over the limit of {max}"
            ));
        }
    }
    read_capped(resp, max, what, deadline)
}

/// The body, at most `max` bytes, read by `deadline`: checked between
/// reads (a read itself is ended at the deadline by the request's timeout).
fn read_capped(
    body: impl Read,
    max: u64,
    what: &str,
    deadline: &PullDeadline,
) -> Result<Vec<u8>, String> {
    let mut body = body.take(max + 1);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        deadline
            .remaining()
            .map_err(|e| format!("reading the {what}: {e}"))?;
        match body.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(deadline.explain(format!("reading the {what}: {}", chain(&e))));
            }
        }
    }
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
    use std::time::Duration;

    /// A body that never ends, a byte per read: a server dripping it.
    struct Drip;

    impl Read for Drip {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(5));
            buf[0] = b'x';
            Ok(1)
        }
    }

    /// Under `max` for ever: only the deadline ends it.
    #[test]
    fn a_dripping_body_is_stopped_at_the_pulls_deadline() {
        let deadline = PullDeadline::after(Duration::from_millis(200));
        let e = read_capped(Drip, u64::MAX - 1, "bundle", &deadline).unwrap_err();
        assert!(
            e.starts_with("reading the bundle: the pull took longer than cluster.timeout (0.2s)"),
            "{e}"
        );
    }

    #[test]
    fn a_body_in_time_and_under_the_cap_is_read_whole() {
        let deadline = PullDeadline::after(Duration::from_secs(3600));
        let got = read_capped(&b"kind: role\n"[..], 1024, "bundle", &deadline).unwrap();
        assert_eq!(got, b"kind: role\n");
        let e = read_capped(&[0u8; 2048][..], 1024, "bundle", &deadline).unwrap_err();
        assert_eq!(e, "the bundle is over the limit of 1024 bytes");
    }

    #[test]
    fn signature_url_keeps_the_query() {
        let u = Url::parse("https://cdn.example/p/bundle.yaml?v=1").unwrap();
        assert_eq!(
            sibling_signature_url(&u).as_str(),
            "https://cdn.example/p/bundle.yaml.sig?v=1"
        );
    }
}
