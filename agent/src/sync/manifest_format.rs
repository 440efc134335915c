//! The publisher's signed manifest (`DIR/manifest.json`), as plain data:
//! what `mfactl publish` writes and an agent in manifest mode reads. The
//! signature (`manifest.json.sig`) is over the file's exact bytes, so the
//! writer serializes once ([`Manifest::to_bytes`]) and the reader parses the
//! bytes it verified ([`Manifest::parse`]).
//!
//! ```json
//! {"format":"pam-mfa-manifest/1","source":"NAME","serial":N,
//!  "issued_at":"RFC3339 UTC","expires_at":"RFC3339 UTC",
//!  "bundle":{"path":"bundles/<sha256hex>.json","sha256":"<hex>","size":N}}
//! ```
//!
//! Unknown members are ignored by readers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The `format` member this version writes and reads.
pub const MANIFEST_FORMAT: &str = "pam-mfa-manifest/1";

/// The manifest's file name in the published directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The signature's file name in the published directory.
pub const MANIFEST_SIGNATURE_FILE: &str = "manifest.json.sig";

/// The directory of content-addressed bundles, relative to the manifest.
pub const BUNDLES_DIR: &str = "bundles";

/// One signed manifest. Member order is the order written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The publisher's `--source-name`; agents compare it with
    /// `cluster.source_name`.
    pub source: String,
    /// Only grows from one publication to the next.
    pub serial: u64,
    /// RFC 3339, UTC.
    pub issued_at: String,
    /// RFC 3339, UTC: past it, the policy is stale.
    pub expires_at: String,
    /// The bundle this manifest vouches for.
    pub bundle: BundleRef,
}

/// Where the bundle is and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRef {
    /// Relative to the manifest: a plain relative path, no `..`.
    pub path: String,
    /// Lowercase hex SHA-256 of the bundle's bytes.
    pub sha256: String,
    /// The bundle's size in bytes.
    pub size: u64,
}

/// RFC 3339 text of a time, UTC, whole seconds.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let t = OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn parse_time(what: &str, text: &str) -> Result<SystemTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| format!("manifest {what} {text:?} is not an RFC 3339 time: {e}"))
}

fn is_hex_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A plain relative path: not empty, no leading `/`, no `.` or `..` or
/// empty component, no backslash or control character.
pub fn is_plain_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

impl Manifest {
    /// The exact bytes to sign and publish (compact JSON, no trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serializes")
    }

    /// Parses and checks a manifest: the format, the bundle path (plain,
    /// relative), the hash (64 lowercase hex), the two times, and that it
    /// does not expire before it was issued.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("manifest is not valid: {e}"))?;
        if m.format != MANIFEST_FORMAT {
            return Err(format!(
                "manifest format {:?} is not {MANIFEST_FORMAT:?}",
                m.format
            ));
        }
        if !is_plain_relative_path(&m.bundle.path) {
            return Err(format!(
                "manifest bundle path {:?} is not a plain relative path",
                m.bundle.path
            ));
        }
        if !is_hex_sha256(&m.bundle.sha256) {
            return Err(format!(
                "manifest bundle sha256 {:?} is not 64 lowercase hex digits",
                m.bundle.sha256
            ));
        }
        let issued = m.issued_at_time()?;
        if m.expires_at_time()? < issued {
            return Err("manifest expires before it was issued".into());
        }
        Ok(m)
    }

    /// `issued_at`, parsed.
    pub fn issued_at_time(&self) -> Result<SystemTime, String> {
        parse_time("issued_at", &self.issued_at)
    }

    /// `expires_at`, parsed.
    pub fn expires_at_time(&self) -> Result<SystemTime, String> {
        parse_time("expires_at", &self.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let hash = "ab".repeat(32);
        Manifest {
            format: MANIFEST_FORMAT.into(),
            source: "prod".into(),
            serial: 1_700_000_000,
            issued_at: rfc3339_utc(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            expires_at: rfc3339_utc(UNIX_EPOCH + Duration::from_secs(1_700_086_400)),
            bundle: BundleRef {
                path: format!("bundles/{hash}.json"),
                sha256: hash,
                size: 12,
            },
        }
    }

    #[test]
    fn writes_the_agreed_member_order_and_reads_it_back() {
        let m = sample();
        let text = String::from_utf8(m.to_bytes()).unwrap();
        assert!(
            text.starts_with(r#"{"format":"pam-mfa-manifest/1","source":"prod","serial":1700000000,"issued_at":"2023-11-14T22:13:20Z","expires_at":"2023-11-15T22:13:20Z","bundle":{"path":"bundles/abab"#),
            "{text}"
        );
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn unknown_members_are_ignored_and_bad_ones_refused() {
        let mut v: serde_json::Value = serde_json::from_slice(&sample().to_bytes()).unwrap();
        v["later"] = serde_json::json!({"x": 1});
        assert!(Manifest::parse(&serde_json::to_vec(&v).unwrap()).is_ok());
        for (pointer, bad) in [
            ("/format", serde_json::json!("pam-mfa-manifest/2")),
            ("/bundle/path", serde_json::json!("../x.json")),
            ("/bundle/path", serde_json::json!("/etc/passwd")),
            ("/bundle/path", serde_json::json!("bundles/./x.json")),
            ("/bundle/sha256", serde_json::json!("AB".repeat(32))),
            ("/issued_at", serde_json::json!("yesterday")),
            ("/expires_at", serde_json::json!("2000-01-01T00:00:00Z")),
        ] {
            let mut w = v.clone();
            *w.pointer_mut(pointer).unwrap() = bad.clone();
            let e = Manifest::parse(&serde_json::to_vec(&w).unwrap());
            assert!(e.is_err(), "{pointer} = {bad} was accepted");
        }
    }
}
