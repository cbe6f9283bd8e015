//! Device rules: `linux.resources.devices` as the v1 `devices`
//! controller takes them (and as the cgroup2 device program compiles
//! them, see `devicefilter`).

use ocikit_types::runtime::{Device, DeviceCgroup, Resources};

/// `r` with an allow rule appended for each of `devices` (linux.devices)
/// that a device cgroup governs, as runc does: a container may use the
/// devices its config creates even under a deny-all rule. Unchanged when
/// `r` has no device rules.
pub(crate) fn allow_devices(r: &Resources, devices: &[Device]) -> Resources {
    let mut r = r.clone();
    if r.devices.is_empty() {
        return r;
    }
    for d in devices {
        let kind = match d.kind.as_str() {
            "c" | "u" => "c",
            "b" => "b",
            _ => continue,
        };
        let mut rule = DeviceCgroup::all(true);
        rule.kind = Some(kind.to_owned());
        rule.major = d.major;
        rule.minor = d.minor;
        r.devices.push(rule);
    }
    r
}

/// The v1 device rules for `r`, then the devices every container gets
/// (the ones the engine creates in /dev, plus ptmx and the pts).
pub(crate) fn device_rules(r: &Resources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let num = |n: Option<i64>| n.map_or("*".to_owned(), |n| n.to_string());
    for d in &r.devices {
        let file = if d.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        let kind = d.kind.clone().unwrap_or_else(|| "a".into());
        let access = d.access.clone().unwrap_or_else(|| "rwm".into());
        if kind == "a" && d.major.is_none() && d.minor.is_none() {
            out.push((file, "a".to_owned()));
        } else {
            out.push((
                file,
                format!("{kind} {}:{} {access}", num(d.major), num(d.minor)),
            ));
        }
    }
    for (ma, mi) in [
        "1:3", "1:5", "1:7", "1:8", "1:9", "5:0", "5:1", "5:2", "136:*",
    ]
    .map(|s| s.split_once(':').unwrap_or(("", "")))
    {
        out.push(("devices.allow", format!("c {ma}:{mi} rwm")));
    }
    out
}
