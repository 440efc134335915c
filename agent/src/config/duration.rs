//! Durations as people write them in agent.yaml: `500ms`, `90s`, `2m`, `1h`.

use std::time::Duration;

/// Parses `N` followed by `ms`, `s`, `m` or `h`. A bare number is refused so
/// that `timeout: 5` cannot silently mean milliseconds to one reader and
/// seconds to another; a fraction (`1.5s`) is refused too, with a message
/// that says so and what to write instead.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const WRITE: &str = "write e.g. 500ms, 90s, 2m, 1h";
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration ({WRITE})"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        "" => return Err(format!("'{text}' has no unit ({WRITE})")),
        _ if unit.starts_with(['.', ',']) => {
            return Err(format!(
                "'{text}': fractions are not accepted, a duration is a whole number of ms, s, m or h (e.g. 1500ms, not 1.5s)"
            ))
        }
        _ => {
            return Err(format!(
                "'{text}' has an unknown unit '{unit}' (ms, s, m or h: {WRITE})"
            ))
        }
    };
    Ok(d)
}

/// Serde helper for `Duration` fields written as text.
pub mod serde_text {
    use super::parse_duration;
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde helper for optional `Duration` fields written as text.
pub mod serde_text_opt {
    use super::parse_duration;
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration(" 1h ").unwrap(), Duration::from_secs(3600));
        for bad in ["5", "s", "1d", "-1s", "1.5s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    /// Each refusal says what is wrong: a fraction is not "no unit".
    #[test]
    fn each_refusal_names_its_mistake() {
        let why = |text| parse_duration(text).unwrap_err();
        for fraction in ["1.5s", "0.5m", "2,5h"] {
            let e = why(fraction);
            assert!(e.contains("fractions are not accepted"), "{fraction}: {e}");
            assert!(!e.contains("no unit"), "{fraction}: {e}");
        }
        assert!(why("5").contains("'5' has no unit"));
        assert!(why("1d").contains("unknown unit 'd'"));
        assert!(why("-1s").contains("is not a duration"));
    }
}
