//! Issue 20's spec gaps: a config without a mount namespace (or with no
//! namespaces at all) shares the runtime's and leaves no mount behind;
//! `memory.kernelTCP`; invalid values refused before anything is set up.

use std::path::Path;

use ocikit_runtime::{CreateOptions, DeleteMode};
use ocikit_types::runtime::{Capability, Memory, NamespaceType, Resources, Rlimit, RlimitType};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    (
        "gaps::issue20_no_mount_namespace_shares_the_runtimes",
        issue20_no_mount_namespace_shares_the_runtimes,
    ),
    (
        "gaps::issue20_empty_namespace_list_runs",
        issue20_empty_namespace_list_runs,
    ),
    (
        "gaps::issue20_invalid_values_refused_before_setup",
        issue20_invalid_values_refused_before_setup,
    ),
    (
        "gaps::issue20_kernel_tcp_set_on_v1_or_refused",
        issue20_kernel_tcp_set_on_v1_or_refused,
    ),
];

/// The mount points under `dir` in this process's mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .map(str::to_owned)
        .collect()
}

fn without(b: &mut Bundle, kinds: &[NamespaceType]) {
    let linux = b.spec.linux.as_mut().unwrap();
    linux.namespaces.retain(|n| !kinds.contains(&n.kind));
    if !linux
        .namespaces
        .iter()
        .any(|n| n.kind == NamespaceType::Uts)
    {
        b.spec.hostname.clear();
    }
}

fn issue20_no_mount_namespace_shares_the_runtimes() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["ls", "-l", "/proc/self/ns/mnt"]);
    without(&mut b, &[NamespaceType::Mount]);
    b.write();
    let host_ns = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let (o, out) = b.capture();
    let id = "t-gap-nomntns";
    b.rt.create(id, b.path(), o).unwrap();
    // The config's mounts are made in the runtime's namespace, under
    // the rootfs.
    let rootfs = b.path().join("rootfs").canonicalize().unwrap();
    let during = mounts_under(&rootfs);
    assert!(
        during.iter().any(|p| p.ends_with("/proc")),
        "no proc under the rootfs in the runtime's namespace: {during:?}"
    );
    b.rt.start(id).unwrap();
    assert_eq!(b.rt.wait(id).unwrap().code(), 0);
    b.rt.delete(id, DeleteMode::Stopped).unwrap();
    let seen = std::fs::read_to_string(out).unwrap();
    assert!(
        seen.trim_end()
            .ends_with(&format!("-> {}", host_ns.display())),
        "container's mount namespace {seen:?}, the runtime's {host_ns:?}"
    );
    let after = mounts_under(b.path());
    assert!(after.is_empty(), "mounts left behind: {after:?}");
}

fn issue20_empty_namespace_list_runs() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "echo $$"]);
    b.spec.linux.as_mut().unwrap().namespaces.clear();
    b.spec.hostname.clear();
    b.write();
    let (code, out) = b.run("t-gap-nons");
    assert_eq!(code, 0, "{out}");
    // The host's pid namespace: the shell is not pid 1.
    assert_ne!(out.trim(), "1", "{out}");
    let after = mounts_under(b.path());
    assert!(after.is_empty(), "mounts left behind: {after:?}");
    // A failed create undoes its mounts too.
    b.spec.process.as_mut().unwrap().cwd = "/no/such/dir".into();
    b.write();
    assert!(b
        .rt
        .create("t-gap-nons-fail", b.path(), CreateOptions::new())
        .is_err());
    let after = mounts_under(b.path());
    assert!(
        after.is_empty(),
        "mounts left behind by a failed create: {after:?}"
    );
}

/// An invalid value's name and how to put it in a bundle.
type Case = (&'static str, fn(&mut Bundle));

/// Each invalid value fails `create` with a config error naming it, and
/// leaves no state, cgroup or mount.
fn issue20_invalid_values_refused_before_setup() {
    if !root_or_skip() {
        return;
    }
    let id = "t-gap-invalid";
    let cases: [Case; 3] = [
        ("RLIMIT_BOGUS", |b| {
            let p = b.spec.process.as_mut().unwrap();
            p.rlimits
                .push(Rlimit::new(RlimitType::from("RLIMIT_BOGUS"), 1, 1));
        }),
        ("CAP_BOGUS", |b| b.grant(Capability::from("CAP_BOGUS"))),
        ("kernel.bogus", |b| {
            b.spec
                .linux
                .as_mut()
                .unwrap()
                .sysctl
                .insert("kernel.bogus".into(), "1".into());
        }),
    ];
    for (name, break_it) in cases {
        let mut b = Bundle::new(&["true"]);
        break_it(&mut b);
        b.write();
        let before = mounts_under(Path::new("/"));
        let e = b.rt.create(id, b.path(), CreateOptions::new()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("config ") && text.contains(name),
            "{name}: {text}"
        );
        assert!(!b.path().join("state").join(id).exists(), "{name}");
        assert!(cgroup_file(id, "pids", "").is_none(), "{name}");
        assert_eq!(mounts_under(Path::new("/")), before, "{name}");
    }
}

fn issue20_kernel_tcp_set_on_v1_or_refused() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["true"]);
    let mut memory = Memory::default();
    memory.kernel_tcp = Some(16 << 20);
    let mut r = Resources::default();
    r.memory = Some(memory);
    b.spec.linux.as_mut().unwrap().resources = Some(r);
    b.write();
    let id = "t-gap-ktcp";
    let v1_file = Path::new("/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes").exists();
    match b.rt.create(id, b.path(), CreateOptions::new()) {
        Ok(_) => {
            assert!(v1_file, "kernelTCP accepted on a host without the v1 file");
            let f = cgroup_file(id, "memory", "memory.kmem.tcp.limit_in_bytes").unwrap();
            assert_eq!(std::fs::read_to_string(f).unwrap().trim(), "16777216");
            b.rt.delete(id, DeleteMode::Force).unwrap();
        }
        Err(e) => {
            assert!(!v1_file, "refused though the host has the v1 file: {e}");
            let text = e.to_string();
            assert!(
                text.contains("kernelTCP") && text.contains("not supported"),
                "{text}"
            );
            assert!(b.rt.state(id).unwrap_err().is_not_found());
        }
    }
}
