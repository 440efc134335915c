//! Teleport's durations (`api/types/duration.go`): a Go duration string
//! (`time.ParseDuration`'s grammar, with Teleport's extra units `d`, `mo`
//! and `y`), or `never` for none. Used for role options such as
//! `client_idle_timeout`; [`parse_go`] is Go's grammar alone, for the cap's
//! `hardware_key.pin_cache_timeout`.

use std::time::Duration;

/// Nanoseconds per unit, as Go's `time.ParseDuration` (`unitMap`).
const GO_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
];

/// The units Teleport's own `parseDuration` adds to Go's.
const TELEPORT_UNITS: &[(&str, u128)] = &[
    ("d", 24 * 3_600 * 1_000_000_000),
    ("mo", 30 * 24 * 3_600 * 1_000_000_000),
    ("y", 365 * 24 * 3_600 * 1_000_000_000),
];

/// The largest duration Go holds (int64 nanoseconds).
const MAX_NANOS: u128 = i64::MAX as u128;

/// A Teleport duration, signed as Go's: `Ok(None)` for a negative one
/// (Teleport treats a negative timeout as none), `Ok(Some(ZERO))` for
/// `never`, `0` or a zero sum.
pub fn parse(text: &str) -> Result<Option<Duration>, String> {
    if text == "never" {
        return Ok(Some(Duration::ZERO));
    }
    parse_with(text, TELEPORT_UNITS)
}

/// Go's `time.ParseDuration`: what `time.Duration.String()` writes (`1.5s`,
/// `1m30.5s`, `500ms`, `1.5µs`, `0s`), without Teleport's `d`, `mo`, `y`
/// and `never`. Signed as [`parse`]: `Ok(None)` for a negative duration.
pub fn parse_go(text: &str) -> Result<Option<Duration>, String> {
    parse_with(text, &[])
}

/// Go's grammar with `extra` units beside Go's own.
fn parse_with(text: &str, extra: &[(&str, u128)]) -> Result<Option<Duration>, String> {
    let bad = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Some(Duration::ZERO));
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(bad());
        }
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let per = GO_UNITS
            .iter()
            .chain(extra)
            .find(|(name, _)| *name == unit)
            .map(|(_, n)| *n)
            .ok_or_else(|| format!("unknown unit {unit:?} in duration {text:?}"))?;
        total = total
            .checked_add(amount(whole, fraction, per).ok_or_else(bad)?)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(bad)?;
        rest = next;
    }
    let nanos = u64::try_from(total).map_err(|_| bad())?;
    Ok((!negative || nanos == 0).then(|| Duration::from_nanos(nanos)))
}

/// A timeout option as Teleport reads it (`client_idle_timeout`): a
/// duration string; `never`, `0` or a negative one is none. Anything else
/// is an error (Teleport refuses the resource).
pub(super) fn optional_timeout<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    use serde::Deserialize;
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let parsed = parse(&text).map_err(serde::de::Error::custom)?;
    Ok(parsed.filter(|t| !t.is_zero()))
}

/// `whole.fraction` units of `per` nanoseconds (the fraction truncated to
/// whole nanoseconds, as Go does).
fn amount(whole: &str, fraction: &str, per: u128) -> Option<u128> {
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(per)?;
    let mut scale = per;
    for digit in fraction.bytes().take(30) {
        scale /= 10;
        value += u128::from(digit - b'0') * scale;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teleport_durations() {
        let s = |n: u64| Ok(Some(Duration::from_secs(n)));
        assert_eq!(parse("15m"), s(900));
        assert_eq!(parse("1h30m"), s(5400));
        assert_eq!(parse("1.5h"), s(5400));
        assert_eq!(parse("+2s"), s(2));
        assert_eq!(parse(".5s"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(parse("300ms"), Ok(Some(Duration::from_millis(300))));
        assert_eq!(parse("1\u{b5}s"), Ok(Some(Duration::from_micros(1))));
        assert_eq!(parse("2d"), s(2 * 86_400));
        assert_eq!(parse("1mo"), s(30 * 86_400));
        assert_eq!(parse("1y"), s(365 * 86_400));
        assert_eq!(parse("never"), s(0));
        assert_eq!(parse("0"), s(0));
        assert_eq!(parse("-0"), s(0));
        assert_eq!(parse("-5m"), Ok(None));
        for bad in [
            "",
            "5",
            "m",
            "1.2.3s",
            ".s",
            "5x",
            "1h 5m",
            "never ",
            "9999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    /// What Go's `time.Duration.String()` writes reads back, as
    /// `time.ParseDuration` reads it; Teleport's own units and `never` do
    /// not.
    #[test]
    fn go_durations() {
        let ms = |n: u64| Ok(Some(Duration::from_millis(n)));
        assert_eq!(parse_go("1.5s"), ms(1_500));
        assert_eq!(parse_go("1m30.5s"), ms(90_500));
        assert_eq!(parse_go("500ms"), ms(500));
        assert_eq!(parse_go("1h0m0s"), ms(3_600_000));
        assert_eq!(parse_go("0s"), ms(0));
        assert_eq!(parse_go("0"), ms(0));
        assert_eq!(
            parse_go("1.5\u{b5}s"),
            Ok(Some(Duration::from_nanos(1_500)))
        );
        assert_eq!(parse_go("2us"), Ok(Some(Duration::from_micros(2))));
        assert_eq!(parse_go("7ns"), Ok(Some(Duration::from_nanos(7))));
        assert_eq!(parse_go("-1.5s"), Ok(None));
        for bad in ["", "1d", "1mo", "1y", "never", "1.5", "1h 5m", "15 minutes"] {
            assert!(parse_go(bad).is_err(), "{bad:?}");
        }
    }
}
