//! `list`: like runc-list(8), a table or `--format json` (`null` when
//! there are no containers, as runc prints).

use ocikit_runtime::Runtime;

use crate::args::{flag, Args, Flag};
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[
    flag("format", Some('f'), true),
    flag("quiet", Some('q'), false),
];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let states = rt.list()?;
    if a.has("quiet") {
        for s in &states {
            outln!("{}", s.id);
        }
        return Ok(0);
    }
    let extra = |s: &ocikit_types::runtime::State, k: &str| {
        s.extra
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    match a.value("format").unwrap_or("table") {
        "json" => {
            let rows: Vec<serde_json::Value> = states
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "ociVersion": s.oci_version,
                        "id": s.id,
                        "pid": s.pid.unwrap_or(0),
                        "status": s.status.as_str(),
                        "bundle": s.bundle,
                        "rootfs": extra(s, "rootfs"),
                        "created": extra(s, "created"),
                        "owner": extra(s, "owner"),
                    })
                })
                .collect();
            if rows.is_empty() {
                // runc's Go encoder writes a nil slice as `null`.
                outln!("null");
            } else {
                outln!("{}", serde_json::Value::Array(rows));
            }
        }
        "table" => {
            let mut rows =
                vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
            for s in &states {
                rows.push([
                    s.id.clone(),
                    s.pid.unwrap_or(0).to_string(),
                    s.status.to_string(),
                    s.bundle.clone(),
                    extra(s, "created"),
                    extra(s, "owner"),
                ]);
            }
            let widths: Vec<usize> = (0..6)
                .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
                .collect();
            for r in rows {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect();
                outln!("{}", line.join("   ").trim_end());
            }
        }
        other => {
            return Err(format!("invalid format option {other:?}: expected table or json").into())
        }
    }
    Ok(0)
}
