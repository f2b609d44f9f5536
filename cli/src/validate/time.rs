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

/// Whether `s` has the shape of an RFC 3339 date-time (section 5.6): `YYYY-MM-DD`, `T`, `t` or a
/// space, `HH:MM:SS`, an optional fraction, then `Z`, `z` or `+HH:MM`/`-HH:MM`. Jiff's parser
/// also takes ISO 8601's other forms (no seconds, basic offsets, six-digit years); `--now` does
/// not.
fn is_rfc3339_shape(s: &[u8]) -> bool {
    let digits = |r: &[u8]| !r.is_empty() && r.iter().all(u8::is_ascii_digit);
    let Some((stamp, mut zone)) = s.split_at_checked(19) else {
        return false;
    };
    let fixed = stamp.iter().zip(b"dddd-dd-ddTdd:dd:dd").all(|(&c, &p)| match p {
        b'd' => c.is_ascii_digit(),
        b'T' => matches!(c, b'T' | b't' | b' '),
        _ => c == p,
    });
    if let Some(frac) = zone.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        let Some((f, rest)) = frac.split_at_checked(n) else {
            return false;
        };
        if !digits(f) {
            return false;
        }
        zone = rest;
    }
    let offset_ok = match zone {
        b"Z" | b"z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => digits(&[*h1, *h2, *m1, *m2]),
        _ => false,
    };
    fixed && offset_ok
}

/// Parses an RFC 3339 date-time to Unix seconds with jiff (fractions dropped). A leap second
/// (`:60`) is the first second of the next minute.
fn parse_rfc3339(s: &str) -> Option<i64> {
    if !is_rfc3339_shape(s.as_bytes()) {
        return None;
    }
    let t: jiff::Timestamp = s.parse().ok()?;
    // Jiff reads a leap second as second 59 of its minute.
    let leap = i64::from(s.get(17..19) == Some("60"));
    Some(t.as_second() + leap)
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years an RFC 3339 date-time can carry.
const RFC3339_RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

/// Formats Unix seconds as RFC 3339 UTC (`2024-05-01T12:00:00Z`). Years outside 0..=9999 are
/// printed with as many digits as they need (and a sign when negative), as the report's
/// image time stamps are.
pub fn format_rfc3339(unix: i64) -> String {
    match jiff::Timestamp::from_second(unix) {
        Ok(t) if RFC3339_RANGE.contains(&unix) => t.to_string(),
        _ => vhd_validator::format::timestamp::format_unix(unix),
    }
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
        assert_eq!(parse_now("2016-12-31T23:59:60Z"), Ok(1_483_228_800));
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
        for edge in [*RFC3339_RANGE.start(), *RFC3339_RANGE.end(), i64::MIN, i64::MAX, -62_167_219_201, 253_402_300_800]
        {
            assert_eq!(format_rfc3339(edge), vhd_validator::format::timestamp::format_unix(edge), "{edge}");
        }
    }

    quickcheck! {
        fn format_then_parse_round_trips(secs: i64) -> bool {
            // Years 0..=9999 are what RFC 3339 can carry.
            let secs = secs.rem_euclid(253_402_300_800 + 62_167_219_200) - 62_167_219_200;
            parse_now(&format_rfc3339(secs)) == Ok(secs)
        }
    }
}
