//! The `http.limits` keys of the configuration file, ours (Distribution
//! has none of them):
//!
//! ```yaml
//! http:
//!   limits:
//!     headertimeout: 30s      # Limits::header_timeout
//!     bodytimeout: 60s        # Limits::body_timeout
//!     uploadsperclient: 16    # Limits::uploads_per_client, 0 for no limit
//!     smallbodylimit: 4096    # Limits::small_body_limit, in bytes
//!     blobsizelimit: 10737418240  # Limits::blob_size_limit, in bytes; 0 or absent for none
//!     maxconnections: 1000    # Limits::max_connections, 0 or absent for none
//!     connectionsperclient: 64  # Limits::connections_per_client, 0 or absent for none
//!     ratelimit:              # Limits::rate, off unless given
//!       persecond: 20         # default 1 when only burst is given
//!       burst: 40             # default persecond
//! ```
//!
//! Durations are Go's, as Distribution writes them (`90s`, `1m30s`,
//! `500ms`), or a number of seconds.

use std::time::Duration;

use serde_norway::Value;

use super::{Limits, Rate};
use crate::settings::bad;
use crate::Error;

/// Applies `key` (a leaf under `http.limits.`) to `limits`; false for a
/// key this registry does not know.
pub(crate) fn configure(limits: &mut Limits, key: &str, v: &Value) -> Result<bool, Error> {
    let Some(name) = key.strip_prefix("http.limits.") else {
        return Ok(false);
    };
    match name {
        "headertimeout" => limits.header_timeout = duration(key, v)?,
        "bodytimeout" => limits.body_timeout = duration(key, v)?,
        "uploadsperclient" => {
            let n = count(key, v)?;
            limits.uploads_per_client = (n > 0).then_some(n);
        }
        "smallbodylimit" => {
            limits.small_body_limit = v.as_u64().ok_or_else(|| bad(key, "a number of bytes", v))?;
        }
        "blobsizelimit" => {
            let n = v.as_u64().ok_or_else(|| bad(key, "a number of bytes", v))?;
            limits.blob_size_limit = (n > 0).then_some(n);
        }
        "maxconnections" => {
            let n = count(key, v)?;
            limits.max_connections = (n > 0).then_some(n);
        }
        "connectionsperclient" => {
            let n = count(key, v)?;
            limits.connections_per_client = (n > 0).then_some(n);
        }
        "ratelimit.persecond" => {
            let n = count(key, v)?;
            limits.rate = Some(Rate::new(n, limits.rate.map_or(n, |r| r.burst)));
        }
        "ratelimit.burst" => {
            let n = count(key, v)?;
            limits.rate = Some(Rate::new(limits.rate.map_or(1, |r| r.per_second), n));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn count(key: &str, v: &Value) -> Result<u32, Error> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad(key, "a whole number", v))
}

/// A Go duration (`1h2m3s`, `500ms`) or a number of seconds; more than
/// zero.
fn duration(key: &str, v: &Value) -> Result<Duration, Error> {
    let wrong = || bad(key, "a duration such as 30s, 1m30s or 500ms", v);
    let d = match v {
        Value::Number(n) => Duration::from_secs(n.as_u64().ok_or_else(wrong)?),
        Value::String(s) => crate::duration::parse(s).ok_or_else(wrong)?,
        _ => return Err(wrong()),
    };
    if d.is_zero() {
        return Err(wrong());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn durations_never_panic_and_round_trip(s in "\\PC*", h in 0u64..1000, m in 0u64..60, sec in 0u64..60, ms in 0u64..1000) {
            let _ = crate::duration::parse(&s);
            let text = format!("{h}h{m}m{sec}s{ms}ms");
            let expected = Duration::from_secs(h * 3600 + m * 60 + sec) + Duration::from_millis(ms);
            proptest::prop_assert_eq!(crate::duration::parse(&text), Some(expected));
        }
    }

    #[test]
    fn tls_http2_and_limits_are_read_from_the_file() {
        let yaml = "http:\n  addr: :5000\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n    clientcas: [/ca.pem]\n  http2:\n    disabled: true\n  limits:\n    headertimeout: 5s\n    bodytimeout: 1m\n    uploadsperclient: 4\n    smallbodylimit: 100\n    blobsizelimit: 1000\n    maxconnections: 50\n    connectionsperclient: 5\n    ratelimit:\n      persecond: 10\n    other: 1\n";
        let c = crate::Config::from_yaml(yaml, "c.yml".as_ref()).unwrap();
        assert_eq!(c.tls, Some(("/c.pem".into(), "/k.pem".into())));
        assert_eq!(c.http2, crate::Http2::Disabled);
        assert_eq!(c.limits.header_timeout, Duration::from_secs(5));
        assert_eq!(c.limits.body_timeout, Duration::from_secs(60));
        assert_eq!(c.limits.uploads_per_client, Some(4));
        assert_eq!(c.limits.small_body_limit, 100);
        assert_eq!(c.limits.blob_size_limit, Some(1000));
        assert_eq!(c.limits.max_connections, Some(50));
        assert_eq!(c.limits.connections_per_client, Some(5));
        assert_eq!(c.limits.rate, Some(Rate::new(10, 10)));
        assert_eq!(
            c.warnings,
            [
                "http.tls.clientcas is not supported yet and is ignored",
                "unknown key http.limits.other is ignored"
            ]
        );
        let e = crate::Config::from_yaml("http:\n  tls:\n    certificate: /c\n", "c".as_ref())
            .unwrap_err();
        assert!(e.to_string().contains("http.tls.key"), "{e}");
    }

    #[test]
    fn rate_keys_combine_in_any_order() {
        let mut l = Limits::default();
        let n = |n: u64| Value::Number(n.into());
        assert!(configure(&mut l, "http.limits.ratelimit.burst", &n(40)).unwrap());
        assert!(configure(&mut l, "http.limits.ratelimit.persecond", &n(20)).unwrap());
        assert_eq!(l.rate, Some(Rate::new(20, 40)));
        let mut l = Limits::default();
        configure(&mut l, "http.limits.ratelimit.persecond", &n(5)).unwrap();
        assert_eq!(l.rate, Some(Rate::new(5, 5)));
        configure(&mut l, "http.limits.uploadsperclient", &n(0)).unwrap();
        assert_eq!(l.uploads_per_client, None);
        assert!(!configure(&mut l, "http.limits.other", &n(1)).unwrap());
        let e = configure(
            &mut l,
            "http.limits.bodytimeout",
            &Value::String("0s".into()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("http.limits.bodytimeout"), "{e}");
    }
}
