//! VHD time stamps (spec §Hard Disk Footer Format: Time Stamp): unsigned 32-bit seconds since
//! 2000-01-01 00:00:00 UTC.

/// Unix time (seconds) of the VHD epoch, 2000-01-01T00:00:00Z.
pub const VHD_EPOCH_UNIX: i64 = 946_684_800;

/// Slack (seconds) before a time stamp counts as "in the future", as blktap allows.
pub const FUTURE_SLACK_SECONDS: i64 = 1800;

/// Converts a VHD time stamp to Unix seconds.
pub fn to_unix(vhd: u32) -> i64 {
    VHD_EPOCH_UNIX + i64::from(vhd)
}

/// Converts Unix seconds to a VHD time stamp; `None` before 2000 or after 2136-02-07.
pub fn from_unix(unix: i64) -> Option<u32> {
    u32::try_from(unix.checked_sub(VHD_EPOCH_UNIX)?).ok()
}

/// Whether `vhd` lies more than [`FUTURE_SLACK_SECONDS`] after `now_unix`.
pub fn is_future(vhd: u32, now_unix: i64) -> bool {
    to_unix(vhd) > now_unix.saturating_add(FUTURE_SLACK_SECONDS)
}

/// Formats a VHD time stamp as RFC 3339 UTC (`2000-01-01T00:00:00Z`).
pub fn format(vhd: u32) -> String {
    format_unix(to_unix(vhd))
}

/// Formats Unix seconds as RFC 3339 UTC (`2024-05-01T12:00:00Z`), proleptic Gregorian. Years
/// outside 0..=9999 are printed with as many digits as they need (and a sign when negative).
pub fn format_unix(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_times() {
        assert_eq!(format(0), "2000-01-01T00:00:00Z");
        assert_eq!(format(86_400 * 366 + 3661), "2001-01-01T01:01:01Z");
        assert_eq!(format(u32::MAX), "2136-02-07T06:28:15Z");
    }

    #[test]
    fn unix_round_trip_and_future() {
        assert_eq!(from_unix(to_unix(12345)), Some(12345));
        assert_eq!(from_unix(0), None);
        assert!(is_future(4000, to_unix(4000) - 1801));
        assert!(!is_future(4000, to_unix(4000) - 1800));
    }
}
