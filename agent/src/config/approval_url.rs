//! `approval_url`: where the browser approval page (`web/`) is hosted.
//!
//! Checked when agent.yaml loads: an `https://` URL without credentials,
//! query or fragment (the agent writes the fragment). WebAuthn only lets a
//! page use credentials of an rp_id that is its host or a parent of it, and
//! the rp_id comes with the bundle (the cap's `webauthn.rp_id`), so that rule
//! is checked whenever a prompt is built ([`ApprovalUrl::check_rp_id`]).

use std::fmt;

use serde::Deserialize;

/// A checked `approval_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApprovalUrl {
    url: reqwest::Url,
}

impl fmt::Debug for ApprovalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApprovalUrl({})", self.url)
    }
}

impl fmt::Display for ApprovalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

impl ApprovalUrl {
    /// Parses and checks the text of `approval_url`.
    pub fn parse(text: &str) -> Result<ApprovalUrl, String> {
        const KEY: &str = "approval_url";
        let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("{KEY} '{text}': {e}"))?;
        if url.scheme() != "https" {
            return Err(format!(
                "{KEY} '{text}': the page must be served over https:// (WebAuthn needs a secure origin)"
            ));
        }
        let host = url.host_str().unwrap_or_default();
        if host.is_empty() || host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "{KEY} '{text}': the host must be a DNS name at or under the cluster's webauthn.rp_id, not an address"
            ));
        }
        if host.ends_with('.') {
            return Err(format!(
                "{KEY} '{text}': write the host without a trailing dot (browsers keep it in the origin, and it would not match the rp_id)"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{KEY}: credentials in the URL are refused"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{KEY} '{text}': no query or fragment: the agent puts the challenge in the fragment"
            ));
        }
        Ok(ApprovalUrl { url })
    }

    /// The page's host name (lower case, as the URL parser normalised it).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The origin a browser puts in clientDataJSON for this page:
    /// `https://HOST` or `https://HOST:PORT` (no port when 443).
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// The page's address without a fragment.
    pub fn base(&self) -> &str {
        self.url.as_str()
    }

    /// WebAuthn's rule: the page's host is `rp_id` or a name under it.
    pub fn check_rp_id(&self, rp_id: &str) -> Result<(), String> {
        let host = self.host();
        // The rpIdHash is over the rp_id exactly as written, and the page
        // asks the browser for it as written: only a plain lower-case DNS
        // name can work.
        let plain = !rp_id.is_empty()
            && !rp_id.ends_with('.')
            && rp_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !plain {
            return Err(format!(
                "the cluster's webauthn.rp_id {rp_id:?} is not a lower-case DNS name without a trailing dot: the approval link is not shown"
            ));
        }
        let under = host
            .strip_suffix(rp_id)
            .is_some_and(|head| head.is_empty() || head.ends_with('.'));
        if !under {
            return Err(format!(
                "approval_url host {host} is not the cluster's webauthn.rp_id {rp_id} or a name under it: browsers would refuse the credentials there, so the approval link is not shown"
            ));
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for ApprovalUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ApprovalUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_pages_and_names_their_origin() {
        let u = ApprovalUrl::parse("https://Approve.Example.com/pam-mfa/").unwrap();
        assert_eq!(u.host(), "approve.example.com");
        assert_eq!(u.origin(), "https://approve.example.com");
        assert_eq!(u.base(), "https://approve.example.com/pam-mfa/");
        let p = ApprovalUrl::parse("https://approve.example.com:8443/index.html").unwrap();
        assert_eq!(p.origin(), "https://approve.example.com:8443");
        let d = ApprovalUrl::parse("https://approve.example.com:443").unwrap();
        assert_eq!(d.origin(), "https://approve.example.com");
    }

    #[test]
    fn refuses_what_cannot_work() {
        for (bad, words) in [
            ("http://approve.example.com/", "https://"),
            ("approve.example.com", "relative URL"),
            ("https://127.0.0.1/", "DNS name"),
            ("https://[::1]/", "DNS name"),
            ("https://u:p@approve.example.com/", "credentials"),
            ("https://approve.example.com/?a=b", "no query"),
            ("https://approve.example.com/#x", "no query or fragment"),
            ("https://approve.example.com./", "trailing dot"),
        ] {
            let e = ApprovalUrl::parse(bad).unwrap_err();
            assert!(e.contains(words), "{bad}: {e}");
        }
    }

    #[test]
    fn the_host_must_be_the_rp_id_or_under_it() {
        let u = ApprovalUrl::parse("https://approve.teleport.example.com/").unwrap();
        assert!(u.check_rp_id("teleport.example.com").is_ok());
        assert!(u.check_rp_id("approve.teleport.example.com").is_ok());
        for bad in [
            "example.org",
            "eleport.example.com",
            "other.teleport.example.com",
        ] {
            let e = u.check_rp_id(bad).unwrap_err();
            assert!(e.contains("not the cluster's webauthn.rp_id"), "{bad}: {e}");
        }
        // The rpIdHash is over the rp_id as written: only a plain lower-case
        // name can match what the browser signs.
        for odd in [
            "Teleport.Example.com",
            "teleport.example.com.",
            "",
            "tëleport.example.com",
        ] {
            let e = u.check_rp_id(odd).unwrap_err();
            assert!(e.contains("not a lower-case DNS name"), "{odd}: {e}");
        }
    }
}
