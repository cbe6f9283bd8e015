//! What a test needs from this machine, and the one way to skip.
//!
//! Each check returns `true` when the test can go on. Otherwise it records
//! the reason, which the [runner](crate::harness) reports as
//! `ignored, REASON`, and the test returns. Under `CI=true` a missing
//! *peer* (a program CI installs, or root, which CI has) fails the test
//! instead: CI must never pass by skipping. A missing *kernel feature*
//! ([`skip`]) stays a skip everywhere: no install can bring it.

use std::path::Path;

/// Whether this run is CI's (`CI=true`), where a missing peer fails.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Marks the running test ignored because of something this host cannot
/// give (a kernel feature, an architecture), even under CI. Returns
/// `false`, for `if !cond { return skip(..) }`-style use.
pub fn skip(reason: impl Into<String>) -> bool {
    crate::harness::mark_ignored(reason.into());
    false
}

/// Marks the running test ignored because something CI installs is
/// missing; under `CI=true`, panics (the test fails) instead.
pub fn missing(reason: impl Into<String>) -> bool {
    let reason = reason.into();
    if in_ci() {
        panic!("{reason} (CI=true: it must be there)");
    }
    skip(reason)
}

/// Whether this process runs as root (effective uid 0), by
/// `/proc/self/status`.
pub fn is_root() -> bool {
    euid() == Some(0)
}

fn euid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Needs root: containers, mounts, runc.
pub fn root() -> bool {
    is_root() || missing(format!("needs root (euid {})", euid().unwrap_or(u32::MAX)))
}

/// Whether `tool` is on `PATH`, or is an existing path.
pub fn have(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Needs the program `tool` (on `PATH`, or a path), from Debian's or
/// PyPI's packages.
pub fn tool(tool: &str) -> bool {
    have(tool) || missing(format!("{tool} is not installed"))
}

/// Needs every program in `tools`; the reason lists all that are missing.
pub fn tools(tools: &[&str]) -> bool {
    let absent: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    absent.is_empty() || missing(format!("not installed: {}", absent.join(", ")))
}

/// Needs root and every program in `tools`.
pub fn root_and(tools_needed: &[&str]) -> bool {
    root() && tools(tools_needed)
}

/// The unprivileged user `.ci/run` creates, with subordinate ids in
/// `/etc/subuid` and `/etc/subgid`, for rootless tests.
pub const ROOTLESS_USER: &str = "ocikit-rootless";

/// `name`'s uid and gid from `/etc/passwd`; `None` when it has no entry.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = text.lines().find(|l| l.split(':').next() == Some(name))?;
    let f: Vec<&str> = line.split(':').collect();
    Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
}

/// The first subordinate range (start, count) of `name` in an
/// `/etc/subuid`-shaped `file`.
pub fn subordinate_range(file: &str, name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.split(':').next() == Some(name))?;
    let f: Vec<&str> = line.split(':').collect();
    Some((f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?))
}
