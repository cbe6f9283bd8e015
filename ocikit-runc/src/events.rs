//! `events`: like runc-events(8). `--stats` prints one stats event and
//! exits; without it, a stats event every `--interval` (a Go duration
//! such as `5s`, `500ms`, `1m`; default 5s) until the container stops.
//! Each event is one JSON line, `{"type":"stats","id":ID,"data":{...}}`,
//! with runc's field names. Without `--stats`, an OOM kill in the
//! container is reported within 100 ms as `{"type":"oom","id":ID}`.

use std::time::Duration;

use ocikit_runtime::{Runtime, Stats};

use crate::args::{flag, Args, Flag};
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[flag("stats", None, false), flag("interval", None, true)];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("events")?;
    let interval = parse_duration(a.value("interval").unwrap_or("5s"))?;
    if a.has("stats") {
        outln!("{}", event(id, &rt.stats(id)?));
        return Ok(0);
    }
    let tick = Duration::from_millis(100).min(interval);
    let mut ooms = rt.oom_kills(id).unwrap_or(0);
    let mut next_stats = std::time::Instant::now();
    loop {
        if let Ok(n) = rt.oom_kills(id) {
            if n > ooms {
                outln!(r#"{{"type":"oom","id":{}}}"#, serde_json::Value::from(id));
                ooms = n;
            }
        }
        if std::time::Instant::now() >= next_stats {
            match rt.stats(id) {
                Ok(s) => outln!("{}", event(id, &s)),
                // The container stopped or was deleted: the stream ends.
                Err(e) if e.is_not_running() || e.is_not_found() => return Ok(0),
                Err(e) => return Err(e.into()),
            }
            next_stats += interval;
        }
        std::thread::sleep(tick);
    }
}

/// runc's `types.Event` (keys in its order) around `types.Stats`, with
/// its `intel_rdt` and `network_interfaces`, which this engine does not
/// measure.
fn event(id: &str, stats: &Stats) -> String {
    // Built by hand to keep runc's key order (serde_json's Value sorts).
    let data = serde_json::to_string(stats).unwrap_or_else(|_| "{}".into());
    let fields = data
        .strip_prefix('{')
        .and_then(|d| d.strip_suffix('}'))
        .unwrap_or_default();
    let sep = if fields.is_empty() { "" } else { "," };
    format!(
        r#"{{"type":"stats","id":{},"data":{{{fields}{sep}"intel_rdt":{{}},"network_interfaces":null}}}}"#,
        serde_json::Value::from(id)
    )
}

/// A Go duration: a number with one of the units h, m, s, ms, us, ns,
/// possibly several (`1m30s`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: expected something like 5s or 500ms");
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let value: f64 = rest[..split].parse().map_err(|_| bad())?;
        rest = &rest[split..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    if total <= 0.0 {
        return Err(format!(
            "duration interval must be greater than 0, found {s:?}"
        ));
    }
    Ok(Duration::from_secs_f64(total))
}
