//! `ps`: like runc-ps(8). `--format json` prints the container's pids as
//! a JSON array (`null` when there are none, as runc's Go encoder does;
//! containerd parses it); the default table runs `ps` with the given ps
//! options (default `-ef`) and prints its header and the lines whose PID
//! column is one of the container's processes.

use std::process::Command;

use ocikit_runtime::Runtime;

use crate::args::{flag, Args, Flag};
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[flag("format", Some('f'), true)];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("ps")?;
    let pids = rt.ps(id)?;
    match a.value("format").unwrap_or("table") {
        "json" => {
            if pids.is_empty() {
                outln!("null");
            } else {
                outln!("{}", serde_json::to_string(&pids)?);
            }
            Ok(0)
        }
        "table" => {
            let ps_args: Vec<&str> = if a.positional.len() > 1 {
                a.positional[1..].iter().map(String::as_str).collect()
            } else {
                vec!["-ef"]
            };
            let out = Command::new("ps").args(&ps_args).output()?;
            if !out.status.success() {
                return Err(format!(
                    "ps {}: {}",
                    ps_args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                )
                .into());
            }
            print!(
                "{}",
                filter_table(&String::from_utf8_lossy(&out.stdout), &pids)?
            );
            Ok(0)
        }
        other => Err(format!("invalid format option {other:?}: expected table or json").into()),
    }
}

/// The header and the lines of `ps` output whose PID column is in `pids`.
fn filter_table(text: &str, pids: &[u32]) -> Result<String, String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or("couldn't find PID field in ps output")?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}
