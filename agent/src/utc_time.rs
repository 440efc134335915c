//! Times as the agent writes them (RFC 3339, UTC, whole seconds) and keeps
//! them (whole seconds since the epoch), without a panic for any
//! `SystemTime`: one beyond what RFC 3339 can write (past year 9999, from
//! a damaged file or a clock set far ahead) gets an error, not a crash.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Whole seconds since the epoch (0 for a time before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `secs` seconds after the epoch, when a `SystemTime` can hold it.
pub fn from_unix_secs(secs: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// `t` in whole seconds (a time before the epoch: the epoch).
pub fn whole_seconds(t: SystemTime) -> SystemTime {
    from_unix_secs(unix_secs(t)).unwrap_or(t)
}

/// Whole seconds, `Z` (the epoch for a time before it; the text
/// `"(time out of range)"` for one after year 9999).
pub fn rfc3339_utc(t: SystemTime) -> String {
    if t < UNIX_EPOCH {
        return "1970-01-01T00:00:00Z".into();
    }
    format_utc(t).unwrap_or_else(|_| "(time out of range)".into())
}

/// Whole seconds, `Z`.
pub fn format_utc(t: SystemTime) -> Result<String, String> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "a time before 1970".to_string())?
        .as_secs();
    let secs = i64::try_from(secs).map_err(|_| "a time past year 9999".to_string())?;
    let t = OffsetDateTime::from_unix_timestamp(secs).map_err(|e| e.to_string())?;
    t.format(&Rfc3339).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_past_year_9999_are_written_without_a_panic() {
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(format_utc(far).is_err());
        assert_eq!(rfc3339_utc(far), "(time out of range)");
        let latest = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
        assert!(format_utc(latest).is_err());
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(1_764_914_400)),
            "2025-12-05T06:00:00Z"
        );
    }

    #[test]
    fn seconds_past_what_a_system_time_holds_are_none() {
        assert_eq!(from_unix_secs(u64::MAX), None);
        assert_eq!(
            from_unix_secs(5).map(unix_secs),
            Some(5),
            "an ordinary time round-trips"
        );
    }
}
