//! RFC 3339 date-times: the one validator and formatter of the workspace
//! (image configs' `created`, history entries, build timestamps, runtime
//! logs).
//!
//! [`parse`] follows the `date-time` grammar of [RFC 3339 §5.6] exactly,
//! with the calendar rules of §5.7: months 01–12, days within their month
//! (February 29 only in leap years), hours 00–23, minutes 00–59, seconds
//! 00–60 (60 is a leap second), and offsets `Z` or `±hh:mm`. Lower-case
//! `t` and `z` are accepted, as the note in §5.6 allows; so is a space
//! between date and time, which the same section lets applications use.
//!
//! ```
//! use ocikit_types::rfc3339;
//! assert!(rfc3339::is_valid("2015-10-31T22:22:56.015925234Z"));
//! assert!(!rfc3339::is_valid("2023-02-29T00:00:00Z"));
//! assert_eq!(rfc3339::format_utc(1_700_000_000, 0), "2023-11-14T22:13:20Z");
//! assert_eq!(
//!     rfc3339::parse("2023-11-14T23:13:20.5+01:00"),
//!     Some((1_700_000_000, 500_000_000))
//! );
//! ```
//!
//! [RFC 3339 §5.6]: https://www.rfc-editor.org/rfc/rfc3339#section-5.6

/// True when `s` is an RFC 3339 `date-time` (see the module docs).
pub fn is_valid(s: &str) -> bool {
    parse(s).is_some()
}

/// Parses an RFC 3339 `date-time` into seconds since the Unix epoch (UTC)
/// and nanoseconds. Fractions beyond nanoseconds are accepted and
/// truncated; a leap second (`:60`) counts as the second after `:59`.
/// `None` when `s` is not a valid date-time.
pub fn parse(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60;
    Some((secs, nanos))
}

/// Formats seconds (and nanoseconds) since the Unix epoch as an RFC 3339
/// UTC date-time, such as the value of `SOURCE_DATE_EPOCH`. The fraction
/// is left out when `nanos` is 0, else written without trailing zeros;
/// `nanos` above 999,999,999 are clamped.
///
/// ```
/// use ocikit_types::rfc3339::format_utc;
/// assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00Z");
/// assert_eq!(format_utc(-1, 250_000_000), "1969-12-31T23:59:59.25Z");
/// ```
pub fn format_utc(epoch_seconds: i64, nanos: u32) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let secs = epoch_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    let nanos = nanos.min(999_999_999);
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year`-`month`-`day`
/// (negative before it; Howard Hinnant's `days_from_civil`), for other
/// date formats (the HTTP-date of `Retry-After`) to share this calendar.
///
/// ```
/// assert_eq!(ocikit_types::rfc3339::days_from_civil(2000, 3, 1), 11_017);
/// ```
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of days since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_date_times() {
        for ok in [
            "2015-10-31T22:22:56.015925234Z",
            "2015-10-31T22:22:56Z",
            "2015-10-31T22:22:56+01:00",
            "2015-10-31t22:22:56.1-07:30",
            "2015-10-31T22:22:56z",
            "2015-10-31 22:22:56Z",
            "2016-12-31T23:59:60Z",
            "2000-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "1990-12-31T15:59:60-08:00",
            "2015-10-31T22:22:56-23:59",
            "0000-01-01T00:00:00Z",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
    }

    #[test]
    fn invalid_date_times() {
        for bad in [
            "",
            "2015-10-31",
            "2015-13-31T22:22:56Z",
            "2015-00-10T22:22:56Z",
            "2015-10-00T22:22:56Z",
            "2015-10-32T22:22:56Z",
            "2015-04-31T22:22:56Z",
            "2015-02-31T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2015-10-31T22:22:56",
            "2015-10-31T22:22:56.Z",
            "2015-10-31T24:00:00Z",
            "2015-10-31T25:22:56Z",
            "2015-10-31T22:60:56Z",
            "2015-10-31T22:22:61Z",
            "2015-10-31T22:22:56+0100",
            "2015-10-31T22:22:56+24:00",
            "2015-10-31T22:22:56+01:60",
            "2015-10-31T22:22:56+01",
            "2015-10-31X22:22:56Z",
            "2015-10-31T22:22:56ZZ",
            "2015-1-31T22:22:56Z",
            "２015-10-31T22:22:56Z",
            "+015-10-31T22:22:56Z",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn offsets_and_fractions_convert_to_utc() {
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        assert_eq!(parse("1969-12-31T23:30:00-00:30"), Some((0, 0)));
        assert_eq!(parse("1970-01-01T00:00:00.123Z"), Some((0, 123_000_000)));
        assert_eq!(
            parse("1970-01-01T00:00:00.1234567899Z"),
            Some((0, 123_456_789))
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(format_utc(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(format_utc(0, 1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(
            format_utc(0, 2_000_000_000),
            "1970-01-01T00:00:00.999999999Z"
        );
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(
            secs in -62_135_596_800i64..253_402_300_799,
            nanos in 0u32..1_000_000_000,
        ) {
            let s = format_utc(secs, nanos);
            prop_assert!(is_valid(&s), "{}", s);
            prop_assert_eq!(parse(&s), Some((secs, nanos)));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse(&s);
        }
    }
}
