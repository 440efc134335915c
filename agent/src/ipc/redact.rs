//! What a non-root peer may see of the agent's status: the policy source
//! without what may carry a secret (a URL's query string, fragment or
//! `user:password@`), in its own field and in every error text that quotes
//! it. Root sees everything.

use pam_mfa_protocol::StatusReport;

/// `source` without a query string, fragment or credentials. A source that
/// is not a URL with any of those is returned as it is.
pub fn public_source(source: &str) -> String {
    let Ok(mut url) = reqwest::Url::parse(source) else {
        return source.to_string();
    };
    if url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
    {
        return source.to_string();
    }
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    format!("{url}?<redacted>")
}

/// Hides the secrets of `source` (as the status shows it) in `report`.
pub fn for_non_root(report: &mut StatusReport, source: &str) {
    let public = public_source(source);
    if public == source {
        return;
    }
    let scrub = |text: &mut Option<String>| {
        if let Some(t) = text.as_mut() {
            *t = t.replace(source, &public);
            if let Ok(url) = reqwest::Url::parse(source) {
                if let Some(q) = url.query().filter(|q| !q.is_empty()) {
                    *t = t.replace(q, "<redacted>");
                }
            }
        }
    };
    report.policy_source = public.clone();
    scrub(&mut report.last_error);
    scrub(&mut report.sync.cache_error);
    if let Some(m) = report.sync.manifest.as_mut() {
        scrub(&mut m.last_refusal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_string_and_credentials_are_hidden() {
        assert_eq!(
            public_source("https://h.example/b.yaml?X-Amz-Signature=s3cr3t"),
            "https://h.example/b.yaml?<redacted>"
        );
        assert_eq!(
            public_source("https://u:pw@h.example/b.yaml"),
            "https://h.example/b.yaml?<redacted>"
        );
        assert_eq!(
            public_source("https://h.example/b.yaml"),
            "https://h.example/b.yaml"
        );
        assert_eq!(
            public_source("file:///etc/pam-mfa/policy.d"),
            "file:///etc/pam-mfa/policy.d"
        );
        assert_eq!(public_source("builtin:example"), "builtin:example");
    }

    #[test]
    fn errors_that_quote_the_source_are_scrubbed() {
        let source = "https://h.example/b.yaml?token=s3cr3t";
        let mut r = StatusReport {
            policy_source: source.into(),
            last_error: Some(format!("error sending request for url ({source})")),
            ..Default::default()
        };
        r.sync.cache_error = Some("fetch of token=s3cr3t failed".into());
        for_non_root(&mut r, source);
        let shown = serde_json::to_string(&r).unwrap();
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("https://h.example/b.yaml"), "{shown}");
    }
}
