//! Entry points for the fuzz targets in the workspace's `fuzz/` folder:
//! built only with the internal feature `__fuzz`, not part of the API.
//! Each takes untrusted bytes the engine parses or compiles and must
//! neither panic nor hang on any of them.

use ocikit_types::runtime::Spec;
use ocikit_types::Document;

use crate::cgroup::devicefilter::{self, Rule};
use crate::setup::netdev;

/// A netlink reply, as the kernel's answer to an address dump or to a
/// request the runtime sent: parsed for addresses and for the ack.
pub fn netlink_reply(data: &[u8]) {
    let index = data.first().copied().map_or(1, u32::from);
    let _ = netdev::parse_addresses(data, index);
    let _ = netdev::parse_ack(data, u32::from(data.get(1).copied().unwrap_or(0)));
}

/// Device rules, one `allow|deny RULE` per line (`a`, or `TYPE MAJOR:MINOR
/// ACCESS`): parsed and compiled to the eBPF device program, whose every
/// instruction must encode.
pub fn device_rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules: Vec<Rule> = text
        .lines()
        .filter_map(|l| {
            let (file, rule) = l.split_once(' ')?;
            let file = if file == "allow" {
                "devices.allow"
            } else {
                "devices.deny"
            };
            Rule::parse(file, rule).ok()
        })
        .collect();
    let program = devicefilter::program(&rules);
    assert!(!program.is_empty(), "a device program ends with an exit");
    for insn in program {
        let _ = insn.encode();
    }
}

/// A bundle's `config.json`: parsed, checked as `create` checks it, and
/// turned into the init's namespace plan and the container's device
/// program, as far as each applies.
pub fn runtime_config(data: &[u8]) {
    let Ok(spec) = Spec::from_slice(data) else {
        return;
    };
    let _ = crate::engine::check::check_spec(&spec, false);
    let _ = netdev::check(&spec);
    if let Some(linux) = &spec.linux {
        let _ = crate::engine::namespace::namespace_plan(&linux.namespaces);
        if let Some(resources) = &linux.resources {
            let rules: Vec<Rule> = crate::cgroup::devices::device_rules(resources)
                .iter()
                .filter_map(|(file, line)| Rule::parse(file, line).ok())
                .collect();
            let _ = devicefilter::program(&rules);
        }
    }
}

/// A `linux.seccomp` profile (JSON): compiled to the BPF program as the
/// init compiles it, when this host has syscall tables. What compiles
/// must pass the checks the kernel makes at install time and read as the
/// profile meant (no capped errno, no unknown action); what the kernel
/// would refuse must be refused by `compile` instead.
pub fn seccomp_profile(data: &[u8]) {
    let Ok(profile) = serde_json::from_slice::<ocikit_types::runtime::Seccomp>(data) else {
        return;
    };
    if !crate::setup::seccomp::host_supported() {
        return;
    }
    if let Ok(filter) = crate::setup::seccomp::compile(&profile) {
        if let Some(why) = crate::setup::seccomp::verify::kernel_refusal(&filter) {
            panic!("compiled a program the kernel refuses: {why}");
        }
    }
}
