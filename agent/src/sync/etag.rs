//! Which ETags may make the next pull conditional.
//!
//! A static web server's ETag is often its file's modification time in
//! whole seconds and its size (nginx: `"mtime-size"` in hex). A file
//! replaced within the second it was served, by one of the same size (a
//! manifest whose serial grew by one), keeps that ETag: a pull sending it
//! would be told 304 and miss the change, a lock included, until the next
//! publish. So an ETag is kept only when the response's `Last-Modified` is
//! at least two seconds before its `Date` (the file had settled when it
//! was served, so any later change has another time), or when there is no
//! `Last-Modified` to suspect (object stores and CDNs hash the content).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, DATE, ETAG, LAST_MODIFIED};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::PrimitiveDateTime;

/// How long a file must have been unchanged when served for its ETag to count.
const SETTLED: Duration = Duration::from_secs(2);

const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// The response's ETag, when it can be trusted to change with the content.
pub fn settled_etag(headers: &HeaderMap) -> Option<String> {
    let etag = headers.get(ETAG)?.to_str().ok()?.to_string();
    let Some(modified) = headers.get(LAST_MODIFIED) else {
        return Some(etag);
    };
    let modified = http_date(modified.to_str().ok()?)?;
    let served = http_date(headers.get(DATE)?.to_str().ok()?)?;
    let age = served.duration_since(modified).ok()?;
    (age >= SETTLED).then_some(etag)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(text: &str) -> Option<SystemTime> {
    let t = PrimitiveDateTime::parse(text.trim(), HTTP_DATE).ok()?;
    Some(t.assume_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(date: Option<&str>, modified: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ETAG, HeaderValue::from_static("\"6932785d-14a\""));
        if let Some(d) = date {
            h.insert(DATE, HeaderValue::from_str(d).unwrap());
        }
        if let Some(m) = modified {
            h.insert(LAST_MODIFIED, HeaderValue::from_str(m).unwrap());
        }
        h
    }

    #[test]
    fn an_etag_of_a_file_changed_within_the_second_is_not_kept() {
        let served = "Sat, 05 Dec 2026 06:17:45 GMT";
        let settled = "Sat, 05 Dec 2026 06:17:43 GMT";
        assert_eq!(
            settled_etag(&headers(Some(served), Some(settled))).as_deref(),
            Some("\"6932785d-14a\"")
        );
        for fresh in [served, "Sat, 05 Dec 2026 06:17:44 GMT"] {
            assert_eq!(settled_etag(&headers(Some(served), Some(fresh))), None);
        }
        // Modified "after" it was served (clock skew): not kept.
        let later = "Sat, 05 Dec 2026 06:17:50 GMT";
        assert_eq!(settled_etag(&headers(Some(served), Some(later))), None);
        // Unreadable dates, or a Last-Modified without a Date: not kept.
        assert_eq!(settled_etag(&headers(Some("soon"), Some(settled))), None);
        assert_eq!(settled_etag(&headers(None, Some(settled))), None);
        // No Last-Modified (a content hash): kept.
        assert!(settled_etag(&headers(Some(served), None)).is_some());
        assert!(settled_etag(&headers(None, None)).is_some());
    }
}
