//! cgroup limits and rlimits.

use ocikit_runtime::{CreateOptions, DeleteMode};
use ocikit_types::runtime::{Cpu, Memory, Pids, Resources, Rlimit, RlimitType};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    (
        "limits::memory_and_pids_in_cgroup",
        memory_and_pids_in_cgroup,
    ),
    ("limits::rlimit_nofile", rlimit_nofile),
    (
        "limits::cgroup_mount_shows_own_group",
        cgroup_mount_shows_own_group,
    ),
];

fn memory_and_pids_in_cgroup() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sleep", "100"]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = linux.resources.clone().unwrap_or_default();
    let mut m = Memory::default();
    m.limit = Some(64 << 20);
    r.memory = Some(m);
    r.pids = Some(Pids::new(42));
    let mut cpu = Cpu::default();
    cpu.shares = Some(512);
    cpu.quota = Some(50_000);
    cpu.period = Some(100_000);
    cpu.cpus = Some("0".into());
    r.cpu = Some(cpu);
    linux.resources = Some(r);
    b.write();
    let c =
        b.rt.create("t-limits", b.path(), CreateOptions::new())
            .unwrap();
    let mem = cgroup_file("t-limits", "memory", "memory.limit_in_bytes")
        .or_else(|| cgroup_file("t-limits", "", "memory.max"))
        .expect("memory limit file");
    assert_eq!(
        std::fs::read_to_string(mem).unwrap().trim(),
        (64u64 << 20).to_string()
    );
    let pids = cgroup_file("t-limits", "pids", "pids.max").expect("pids.max");
    assert_eq!(std::fs::read_to_string(pids).unwrap().trim(), "42");
    let read = |v1: &str, file: &str| {
        let p = cgroup_file("t-limits", v1, file).unwrap_or_else(|| panic!("{v1}/{file}"));
        std::fs::read_to_string(p).unwrap().trim().to_owned()
    };
    let cpu_dir = ["cpu", "cpu,cpuacct"]
        .into_iter()
        .find(|d| cgroup_file("t-limits", d, "cpu.shares").is_some());
    if let Some(cpu_dir) = cpu_dir {
        assert_eq!(read(cpu_dir, "cpu.shares"), "512");
        assert_eq!(read(cpu_dir, "cpu.cfs_quota_us"), "50000");
        assert_eq!(read(cpu_dir, "cpu.cfs_period_us"), "100000");
        assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    } else {
        assert_eq!(read("", "cpu.max"), "50000 100000");
        assert_eq!(read("", "cpuset.cpus"), "0");
    }
    let procs = cgroup_file("t-limits", "pids", "cgroup.procs").unwrap();
    assert!(std::fs::read_to_string(procs)
        .unwrap()
        .lines()
        .any(|l| l == c.pid().to_string()));
    b.rt.delete("t-limits", DeleteMode::Force).unwrap();
    assert!(cgroup_file("t-limits", "memory", "").is_none());
}

fn rlimit_nofile() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "ulimit -n; ulimit -Hn"]);
    b.spec.process.as_mut().unwrap().rlimits = vec![Rlimit::new(RlimitType::Nofile, 777, 888)];
    let (code, out) = b.run("t-rlimit");
    assert_eq!((code, out.as_str()), (0, "777\n888\n"));
}

fn cgroup_mount_shows_own_group() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/pids/pids.max || cat /sys/fs/cgroup/pids.max",
    ]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = linux.resources.clone().unwrap_or_default();
    r.pids = Some(Pids::new(17));
    linux.resources = Some(r);
    let (code, out) = b.run("t-cgmount");
    assert_eq!((code, out.trim()), (0, "17"), "{out}");
    let _ = Resources::default();
}
