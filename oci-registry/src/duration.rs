//! Go's duration syntax (`168h`, `1h30m`, `1.5s`, `300ms`), which
//! Distribution's config file uses. Written here because the crates that
//! parse durations use other syntaxes (humantime wants no fractions and
//! accepts spaces and words Go refuses), and an operator's file must mean
//! what it means to Distribution.

use std::time::Duration;

/// Parses a Go duration; `None` when malformed, negative or too large.
pub(crate) fn parse(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = Duration::ZERO;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let nanos_per: u64 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut part = Duration::from_nanos(int.checked_mul(nanos_per)?);
        if !frac.is_empty() {
            let f: f64 = format!("0.{frac}").parse().ok()?;
            part = part.checked_add(Duration::from_nanos((f * nanos_per as f64) as u64))?;
        }
        total = total.checked_add(part)?;
        rest = next;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn go_durations_are_read() {
        let h = Duration::from_secs(3600);
        assert_eq!(parse("168h"), Some(168 * h));
        assert_eq!(parse("1h30m"), Some(h + Duration::from_secs(1800)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse("2us"), Some(Duration::from_micros(2)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in [
            "",
            "h",
            "10",
            "1d",
            "-1h",
            "1h 2m",
            ".h",
            "99999999999999999999h",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn whole_units_round_trip(n in 0u64..1_000_000, unit in 0usize..4) {
            let (suffix, secs) = [("s", 1), ("m", 60), ("h", 3600), ("ms", 0)][unit];
            let want = if suffix == "ms" { Duration::from_millis(n) } else { Duration::from_secs(n * secs) };
            proptest::prop_assert_eq!(parse(&format!("{n}{suffix}")), Some(want));
        }

        #[test]
        fn anything_parses_or_is_refused(s in "\\PC{0,16}") {
            let _ = parse(&s);
        }
    }
}
