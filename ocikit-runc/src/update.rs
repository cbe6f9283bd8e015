//! `update`: like runc-update(8). `--resources FILE` (or `-` for stdin)
//! reads a runtime-spec `linux.resources` JSON document; without it, the
//! flags build one: `--memory`, `--memory-reservation`, `--memory-swap`
//! (bytes, or with a k/m/g/t suffix, binary; -1 for unlimited),
//! `--pids-limit`, `--cpu-share` (also spelled `--cpu-shares`),
//! `--cpu-quota`, `--cpu-period`, `--cpu-rt-period`, `--cpu-rt-runtime`,
//! `--cpu-idle`, `--cpuset-cpus`, `--cpuset-mems`. As in runc, the flags
//! are ignored when `--resources` is given.

use std::io::Read;

use ocikit_runtime::Runtime;
use ocikit_types::runtime::{Cpu, Memory, Pids, Resources};

use crate::args::{flag, Args, Flag};
use crate::failure::Step;
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[
    flag("resources", Some('r'), true),
    flag("memory", None, true),
    flag("memory-reservation", None, true),
    flag("memory-swap", None, true),
    flag("kernel-memory", None, true),
    flag("kernel-memory-tcp", None, true),
    flag("pids-limit", None, true),
    flag("cpu-share", None, true),
    flag("cpu-shares", None, true),
    flag("cpu-quota", None, true),
    flag("cpu-period", None, true),
    flag("cpu-rt-period", None, true),
    flag("cpu-rt-runtime", None, true),
    flag("cpu-idle", None, true),
    flag("cpuset-cpus", None, true),
    flag("cpuset-mems", None, true),
    flag("blkio-weight", None, true),
];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("update")?;
    let r = match a.value("resources") {
        Some(path) => {
            let mut bytes = Vec::new();
            if path == "-" {
                std::io::stdin().read_to_end(&mut bytes)?;
            } else {
                bytes = std::fs::read(path).step(|| format!("read {path}"))?;
            }
            serde_json::from_slice::<Resources>(&bytes)
                .step(|| format!("decode resources {path}"))?
        }
        None => from_flags(&a)?,
    };
    rt.update(id, &r)?;
    Ok(0)
}

fn number<T: std::str::FromStr>(a: &Args, name: &str) -> Result<Option<T>, String> {
    a.value(name)
        .map(|v| {
            v.parse()
                .map_err(|_| format!("invalid value {v:?} for flag --{name}: expected a number"))
        })
        .transpose()
}

fn bytes(a: &Args, name: &str) -> Result<Option<i64>, String> {
    a.value(name)
        .map(|v| {
            parse_bytes(v).ok_or_else(|| {
                format!(
                    "invalid value {v:?} for flag --{name}: expected a size like 1024, 64m or 1g"
                )
            })
        })
        .transpose()
}

/// Docker's `RAMInBytes`: a number with an optional binary unit
/// (`k`, `m`, `g`, `t`, `p`, optionally followed by `b` or `ib`); `-1`
/// is unlimited.
fn parse_bytes(s: &str) -> Option<i64> {
    if s == "-1" {
        return Some(-1);
    }
    let lower = s.trim().to_ascii_lowercase();
    let end = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let value: f64 = lower[..end].parse().ok()?;
    let unit = lower[end..].trim_end_matches("ib").trim_end_matches('b');
    let scale: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    Some((value * scale) as i64)
}

fn from_flags(a: &Args) -> Result<Resources, Failure> {
    if a.value("blkio-weight").is_some() {
        return Err("--blkio-weight is not supported".into());
    }
    let mut r = Resources::default();
    let mut m = Memory::default();
    m.limit = bytes(a, "memory")?;
    m.reservation = bytes(a, "memory-reservation")?;
    m.swap = bytes(a, "memory-swap")?;
    m.kernel = bytes(a, "kernel-memory")?;
    m.kernel_tcp = bytes(a, "kernel-memory-tcp")?;
    if m != Memory::default() {
        r.memory = Some(m);
    }
    if let Some(limit) = number::<i64>(a, "pids-limit")? {
        r.pids = Some(Pids::new(limit));
    }
    let mut c = Cpu::default();
    c.shares = number(a, "cpu-share")?.or(number(a, "cpu-shares")?);
    c.quota = number(a, "cpu-quota")?;
    c.period = number(a, "cpu-period")?;
    c.realtime_period = number(a, "cpu-rt-period")?;
    c.realtime_runtime = number(a, "cpu-rt-runtime")?;
    c.idle = number(a, "cpu-idle")?;
    c.cpus = a.value("cpuset-cpus").map(String::from);
    c.mems = a.value("cpuset-mems").map(String::from);
    if c != Cpu::default() {
        r.cpu = Some(c);
    }
    Ok(r)
}
