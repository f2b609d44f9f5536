//! `--now`: parsing RFC 3339 times and Unix seconds, formatting UTC, reading the system clock.
//!
//! The library never reads the clock; the CLI does it here, once, and passes Unix seconds in
//! `CheckOptions::now_unix`, so a report made with an explicit `--now` is reproducible.

use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock as Unix seconds (negative before 1970).
pub fn system_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Parses `--now`: Unix seconds (`1700000000`, `-5`) or an RFC 3339 date-time
/// (`2024-05-01T12:00:00Z`, `2024-05-01t12:00:00.5+02:00`, `2024-05-01 12:00:00Z`). Fractions of
/// a second are dropped.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_now(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    parse_rfc3339(s)
        .ok_or_else(|| format!("`{s}` is neither Unix seconds nor an RFC 3339 date-time such as 2024-05-01T12:00:00Z"))
}

fn num(s: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|v| range.contains(v))
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    // YYYY-MM-DD[Tt ]HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM), all ASCII.
    if !s.is_ascii() || s.len() < 20 {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let sep = rest.as_bytes().first().copied()?;
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    let rest = rest.get(1..)?;
    let (clock, mut zone) = rest.split_at(rest.len().min(8));
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = clock.split(':').collect();
    if d.len() != 3 || t.len() != 3 || d[0].len() != 4 || d[1].len() != 2 || d[2].len() != 2 {
        return None;
    }
    if t.iter().any(|p| p.len() != 2) {
        return None;
    }
    let year = num(d[0], 0..=9999)?;
    let month = num(d[1], 1..=12)?;
    let day = num(d[2], 1..=days_in_month(year, month))?;
    let hour = num(t[0], 0..=23)?;
    let minute = num(t[1], 0..=59)?;
    let second = num(t[2], 0..=60)?;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &frac[digits..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (h, m) = zone.get(1..)?.split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (num(h, 0..=23)? * 3600 + num(m, 0..=59)? * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats Unix seconds as RFC 3339 UTC (`2024-05-01T12:00:00Z`). Years outside 0..=9999 are
/// printed with as many digits as they need (and a sign when negative).
pub fn format_rfc3339(unix: i64) -> String {
    vhd_validator::format::timestamp::format_unix(unix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn parses_both_forms() {
        assert_eq!(parse_now("0"), Ok(0));
        assert_eq!(parse_now("-86400"), Ok(-86_400));
        assert_eq!(parse_now("1700000000"), Ok(1_700_000_000));
        assert_eq!(parse_now("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_now("2000-01-01T00:00:00Z"), Ok(946_684_800));
        assert_eq!(parse_now("2000-01-01t01:00:00+01:00"), Ok(946_684_800));
        assert_eq!(parse_now("1999-12-31 23:00:00.999-01:00"), Ok(946_684_800));
        assert_eq!(parse_now("2024-02-29T12:34:56Z"), Ok(1_709_210_096));
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "yesterday",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-1-01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:00Zjunk",
            "2024-01-01T00:0é:00Z",
        ] {
            assert!(parse_now(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    quickcheck! {
        fn format_then_parse_round_trips(secs: i64) -> bool {
            // Years 0..=9999 are what RFC 3339 can carry.
            let secs = secs.rem_euclid(253_402_300_800 + 62_167_219_200) - 62_167_219_200;
            parse_now(&format_rfc3339(secs)) == Ok(secs)
        }
    }
}
