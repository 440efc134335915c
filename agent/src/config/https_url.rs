//! `https://` URLs in agent.yaml: no credentials in them, no plain http,
//! and errors that never echo a password.

/// `text` with the `user:password@` of its authority, if any, replaced by
/// `***@`.
pub(crate) fn without_userinfo(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => text.to_string(),
    }
}

/// Parses an `https://` URL for `key`: no credentials in it (use
/// `cluster.token_file`), no plain http.
pub fn https_url(text: &str, key: &str) -> Result<reqwest::Url, String> {
    // Errors show the URL without any `user:password@` in it.
    let shown = without_userinfo(text);
    if text.starts_with("http://") {
        return Err(format!(
            "{key} '{shown}': plain http is refused (the bundle is the security policy); use https://"
        ));
    }
    let url = reqwest::Url::parse(text).map_err(|e| format!("{key} '{shown}': {e}"))?;
    if url.scheme() != "https" || url.host_str().is_none_or(|h| h.is_empty()) {
        return Err(format!("{key} '{shown}': expected https://HOST/PATH"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{key}: credentials in the URL are refused; put a bearer token in cluster.token_file"
        ));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "{key} '{text}': a URL fragment has no meaning here"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::{https_url, without_userinfo};

    #[test]
    fn errors_never_show_the_password_of_a_source_url() {
        for text in [
            "http://alice:s3cret@policy.example/b.yaml",
            "https://alice:s3cret@/b.yaml",
            "https://alice:s3cret@policy.example/b.yaml",
            "ftp://alice:s3cret@policy.example/b.yaml",
        ] {
            let err = https_url(text, "cluster.source").unwrap_err();
            assert!(!err.contains("s3cret"), "{err}");
            assert!(!err.contains("alice"), "{err}");
        }
        assert_eq!(
            without_userinfo("https://u:p@h.example/a@b"),
            "https://***@h.example/a@b"
        );
        assert_eq!(
            without_userinfo("https://h.example/a@b"),
            "https://h.example/a@b"
        );
    }
}
