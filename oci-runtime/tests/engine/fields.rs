//! Process attributes and other config fields, checked by their effect
//! inside the container: scheduler, I/O priority, personality, CPU
//! affinity, memory policy, time namespace, blockIO/hugetlb/network/rdma
//! cgroup limits, idmapped mounts, network devices.

use ocikit_runtime::CreateOptions;
use ocikit_types::runtime::{
    BlockIo, ExecCpuAffinity, HugepageLimit, IdMapping, IoPriority, IoPriorityClass, MemoryPolicy,
    MemoryPolicyMode, Mount, Namespace, NamespaceType, NetDevice, Network, Personality,
    PersonalityDomain, Rdma, Resources, Scheduler, SchedulerPolicy, ThrottleDevice, TimeOffset,
    TimeOffsets, WeightDevice,
};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("fields::scheduler_batch_nice", scheduler_batch_nice),
    (
        "fields::scheduler_fifo_and_deadline",
        scheduler_fifo_and_deadline,
    ),
    ("fields::io_priority_idle_and_be", io_priority_idle_and_be),
    ("fields::personality_linux32", personality_linux32),
    ("fields::exec_cpu_affinity", exec_cpu_affinity),
    ("fields::memory_policy_bind", memory_policy_bind),
    (
        "fields::time_namespace_offsets_and_join",
        time_namespace_offsets_and_join,
    ),
    (
        "fields::block_io_throttle_and_update",
        block_io_throttle_and_update,
    ),
    ("fields::block_io_weight", block_io_weight),
    ("fields::hugepage_limit", hugepage_limit),
    ("fields::idmapped_bind_mount", idmapped_bind_mount),
    (
        "fields::idmapped_mount_in_user_namespace",
        idmapped_mount_in_user_namespace,
    ),
    (
        "fields::net_device_moved_and_renamed",
        net_device_moved_and_renamed,
    ),
    (
        "fields::network_and_rdma_need_controllers",
        network_and_rdma_need_controllers,
    ),
];

fn scheduler_batch_nice() {
    if !root_or_skip() {
        return;
    }
    // SCHED_BATCH: a real-time policy would need cpu.rt_runtime_us in
    // the container's v1 cpu group, which is 0 here.
    let mut b = Bundle::new(&["grep", "-E", "^(policy|prio) ", "/proc/self/sched"]);
    let mut s = Scheduler::new(SchedulerPolicy::Batch);
    s.nice = 7;
    b.spec.process.as_mut().unwrap().scheduler = Some(s);
    let (code, out) = b.run("t-sched");
    assert_eq!(code, 0, "{out}");
    let fields: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    // SCHED_BATCH is 3; nice 7 is static priority 120 + 7.
    assert_eq!(
        fields,
        [("policy".into(), "3".into()), ("prio".into(), "127".into())],
        "{out}"
    );
}

/// The `name : value` lines of /proc/self/sched output.
fn sched_fields(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn scheduler_fifo_and_deadline() {
    if !root_or_skip() {
        return;
    }
    // With RT group scheduling (v1 cpu), a real-time task needs runtime
    // in its group, and a group no more than its parent: give the shared
    // `ocikit` parent some for the test.
    let parent = std::path::Path::new("/sys/fs/cgroup/cpu/ocikit/cpu.rt_runtime_us");
    let rt_groups = parent.exists();
    if rt_groups && std::fs::write(parent, "100000").is_err() {
        testkit::need::skip("cannot give the ocikit cpu group real-time runtime");
        return;
    }
    let mut b = Bundle::new(&["grep", "-E", "^(policy|prio) ", "/proc/self/sched"]);
    let mut s = Scheduler::new(SchedulerPolicy::Fifo);
    s.priority = 10;
    b.spec.process.as_mut().unwrap().scheduler = Some(s);
    if rt_groups {
        let mut cpu = ocikit_types::runtime::Cpu::default();
        cpu.realtime_runtime = Some(50_000);
        resources(&mut b).cpu = Some(cpu);
    }
    let (code, out) = b.run("t-sched-fifo");
    if rt_groups {
        // The removed group's runtime is released a little after rmdir.
        for _ in 0..200 {
            if std::fs::write(parent, "0").is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    assert_eq!(code, 0, "{out}");
    // SCHED_FIFO is 1; the kernel's prio for rt priority 10 is 99 - 10.
    assert_eq!(
        sched_fields(&out),
        [("policy".into(), "1".into()), ("prio".into(), "89".into())],
        "{out}"
    );

    // SCHED_DEADLINE: no fork afterwards, so grep runs directly.
    let mut b = Bundle::new(&["grep", "-E", "^policy ", "/proc/self/sched"]);
    let mut s = Scheduler::new(SchedulerPolicy::Deadline);
    s.runtime = 10_000_000;
    s.deadline = 30_000_000;
    s.period = 30_000_000;
    b.spec.process.as_mut().unwrap().scheduler = Some(s);
    let (code, out) = b.run("t-sched-dl");
    assert_eq!(code, 0, "{out}");
    assert_eq!(sched_fields(&out), [("policy".into(), "6".into())], "{out}");
}

fn io_priority_idle_and_be() {
    if !root_or_skip() {
        return;
    }
    for (class, prio, want) in [
        (IoPriorityClass::Idle, 0, "idle"),
        (IoPriorityClass::Be, 6, "best-effort: prio 6"),
    ] {
        let mut b = Bundle::new(&["busybox", "ionice"]);
        b.spec.process.as_mut().unwrap().io_priority = Some(IoPriority::new(class, prio));
        let (code, out) = b.run("t-ioprio");
        assert_eq!((code, out.trim()), (0, want), "{out}");
    }
}

fn personality_linux32() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "cat /proc/self/personality; busybox uname -m"]);
    let mut p = Personality::default();
    p.domain = Some(PersonalityDomain::Linux32);
    b.spec.linux.as_mut().unwrap().personality = Some(p);
    let (code, out) = b.run("t-pers");
    assert_eq!((code, out.as_str()), (0, "00000008\ni686\n"), "{out}");
}

fn exec_cpu_affinity() {
    if !root_or_skip() {
        return;
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        testkit::need::skip("needs 2 CPUs");
        return;
    }
    let mut b = Bundle::new(&["grep", "^Cpus_allowed_list", "/proc/self/status"]);
    let mut a = ExecCpuAffinity::default();
    a.initial = Some("0".into());
    a.r#final = Some("1".into());
    b.spec.process.as_mut().unwrap().exec_cpu_affinity = Some(a);
    let (code, out) = b.run("t-affinity");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.split_whitespace().nth(1), Some("1"), "{out}");

    // Initial alone: set before the init joins its cgroup, then reset to
    // what the container's cpuset allows (all CPUs here).
    let mut a = ExecCpuAffinity::default();
    a.initial = Some("1".into());
    b.spec.process.as_mut().unwrap().exec_cpu_affinity = Some(a);
    let (code, out) = b.run("t-affinity-i");
    assert_eq!(code, 0, "{out}");
    let want = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    assert_eq!(out.split_whitespace().nth(1), Some(want.trim()), "{out}");
    // It is applied: a CPU this machine lacks makes the spawn fail.
    let mut a = ExecCpuAffinity::default();
    a.initial = Some("1000".into());
    b.spec.process.as_mut().unwrap().exec_cpu_affinity = Some(a);
    b.write();
    let e =
        b.rt.create("t-affinity-bad", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains("start container init"), "{e}");
    assert!(b.rt.list().unwrap().is_empty());

    // A list the kernel cannot take fails create with a config error.
    let mut a = ExecCpuAffinity::default();
    a.r#final = Some("1-0".into());
    b.spec.process.as_mut().unwrap().exec_cpu_affinity = Some(a);
    b.write();
    let e =
        b.rt.create("t-affinity2", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config process.execCPUAffinity.final: expected"),
        "{e}"
    );
}

fn memory_policy_bind() {
    if !root_or_skip() {
        return;
    }
    if !std::path::Path::new("/proc/self/numa_maps").exists() {
        testkit::need::skip("kernel without NUMA");
        return;
    }
    // numa_maps shows the task's policy for mappings without their own.
    for (mode, nodes, want) in [
        (MemoryPolicyMode::Bind, "0", "bind:0"),
        (MemoryPolicyMode::Preferred, "0", "prefer:0"),
        (MemoryPolicyMode::Interleave, "0", "interleave:0"),
    ] {
        let mut b = Bundle::new(&["sh", "-c", "busybox head -n1 /proc/self/numa_maps"]);
        let mut m = MemoryPolicy::default();
        m.mode = Some(mode);
        m.nodes = nodes.into();
        b.spec.linux.as_mut().unwrap().memory_policy = Some(m);
        let (code, out) = b.run("t-mempolicy");
        assert_eq!(code, 0, "{out}");
        assert_eq!(out.split_whitespace().nth(1), Some(want), "{out}");
    }
}

/// Whole seconds of the first field of /proc/uptime text.
fn uptime(text: &str) -> u64 {
    text.split(['.', ' '])
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("uptime {text:?}"))
}

fn time_namespace_offsets_and_join() {
    if !root_or_skip() {
        return;
    }
    const DAYS_1000: i64 = 1000 * 86400;
    let host = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let mut a = Bundle::new(&["sh", "-c", "cat /proc/uptime; sleep 100"]);
    let linux = a.spec.linux.as_mut().unwrap();
    linux.namespaces.push(Namespace::new(NamespaceType::Time));
    let mut boot = TimeOffset::default();
    boot.secs = DAYS_1000;
    let mut mono = TimeOffset::default();
    mono.secs = 3600;
    mono.nanosecs = 5;
    let mut offsets = TimeOffsets::default();
    offsets.boottime = Some(boot);
    offsets.monotonic = Some(mono);
    linux.time_offsets = Some(offsets);
    a.write();
    let (o, out) = a.capture();
    let first = a.rt.create("t-timens-a", a.path(), o).unwrap();
    a.rt.start("t-timens-a").unwrap();
    let ns = format!("/proc/{}/ns/time", first.pid());
    // The kernel's own view of the offsets of the container's namespace.
    let seen = std::fs::read_to_string(format!("/proc/{}/timens_offsets", first.pid())).unwrap();
    let seen: Vec<Vec<&str>> = seen
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        seen,
        [
            vec!["monotonic", "3600", "5"],
            vec!["boottime", "86400000", "0"]
        ]
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let inside = loop {
        let text = std::fs::read_to_string(&out).unwrap();
        if !text.is_empty() || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let inside = uptime(&inside);
    assert!(
        inside >= host + DAYS_1000 as u64 && inside < host + DAYS_1000 as u64 + 60,
        "uptime inside {inside}, host {host}"
    );

    // A second container joins the first one's time namespace by path.
    let mut b = Bundle::new(&["cat", "/proc/uptime"]);
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .namespaces
        .push(Namespace::new(NamespaceType::Time));
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .namespaces
        .last_mut()
        .unwrap()
        .path = ns;
    let (code, text) = b.run("t-timens-b");
    assert_eq!(code, 0, "{text}");
    assert!(uptime(&text) >= host + DAYS_1000 as u64, "{text}");
    a.rt.delete("t-timens-a", ocikit_runtime::DeleteMode::Force)
        .unwrap();
}

/// A whole block device (major, minor): throttling takes disks, not
/// partitions or loop files.
fn block_device() -> Option<(i64, i64)> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort_by_key(|n| ["loop", "zram", "ram"].iter().any(|p| n.starts_with(p)));
    let dev = std::fs::read_to_string(format!("/sys/block/{}/dev", names.first()?)).ok()?;
    let (ma, mi) = dev.trim().split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

fn throttle(major: i64, minor: i64, rate: u64) -> ThrottleDevice {
    let mut t = ThrottleDevice::default();
    t.major = major;
    t.minor = minor;
    t.rate = Some(rate);
    t
}

fn resources(b: &mut Bundle) -> &mut Resources {
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .resources
        .get_or_insert_with(Resources::default)
}

fn block_io_throttle_and_update() {
    if !root_or_skip() {
        return;
    }
    let Some((ma, mi)) = block_device() else {
        testkit::need::skip("no block device");
        return;
    };
    // Read inside the container through its cgroup mount (v1 blkio, or
    // io.max on cgroup2).
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device \
             /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device 2>/dev/null \
         || cat /sys/fs/cgroup/io.max; sleep 100",
    ]);
    let mut io = BlockIo::default();
    io.throttle_read_bps_device = vec![throttle(ma, mi, 1 << 20)];
    io.throttle_write_iops_device = vec![throttle(ma, mi, 100)];
    resources(&mut b).block_io = Some(io);
    b.write();
    let (o, out) = b.capture();
    b.rt.create("t-blkio", b.path(), o).unwrap();
    b.rt.start("t-blkio").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let inside = loop {
        let text = std::fs::read_to_string(&out).unwrap();
        if !text.is_empty() || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let v1 = cgroup_file("t-blkio", "blkio", "blkio.throttle.read_bps_device").is_some();
    if v1 {
        assert_eq!(inside, format!("{ma}:{mi} 1048576\n{ma}:{mi} 100\n"));
    } else {
        assert_eq!(
            inside,
            format!("{ma}:{mi} rbps=1048576 wbps=max riops=max wiops=100\n")
        );
    }

    // Update changes the live limit.
    let mut r = Resources::default();
    let mut io = BlockIo::default();
    io.throttle_read_bps_device = vec![throttle(ma, mi, 2 << 20)];
    r.block_io = Some(io);
    b.rt.update("t-blkio", &r).unwrap();
    let file = cgroup_file("t-blkio", "blkio", "blkio.throttle.read_bps_device")
        .or_else(|| cgroup_file("t-blkio", "", "io.max"))
        .unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains(&format!("{ma}:{mi} 2097152")) || text.contains("rbps=2097152"),
        "{text}"
    );
    b.rt.delete("t-blkio", ocikit_runtime::DeleteMode::Force)
        .unwrap();
}

fn block_io_weight() {
    if !root_or_skip() {
        return;
    }
    // The BFQ (or CFQ) weight files exist only in non-root groups.
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/blkio/blkio.bfq.weight 2>/dev/null \
         || cat /sys/fs/cgroup/blkio/blkio.weight 2>/dev/null \
         || cat /sys/fs/cgroup/io.bfq.weight 2>/dev/null || cat /sys/fs/cgroup/io.weight",
    ]);
    let mut io = BlockIo::default();
    io.weight = Some(300);
    resources(&mut b).block_io = Some(io.clone());
    b.write();
    let (o, out) = b.capture();
    match b.rt.create("t-blkio-w", b.path(), o) {
        Err(ocikit_runtime::Error::ControllerMissing {
            setting: "blockIO.weight",
            ..
        }) => {
            testkit::need::skip("no BFQ/CFQ group scheduling here");
            return;
        }
        r => {
            r.unwrap();
        }
    }
    b.rt.start("t-blkio-w").unwrap();
    b.rt.wait("t-blkio-w").unwrap();
    b.rt.delete("t-blkio-w", ocikit_runtime::DeleteMode::Force)
        .unwrap();
    let text = std::fs::read_to_string(out).unwrap();
    // BFQ prints "default 300" on v2, the number alone on v1; io.weight
    // maps 10-1000 onto 1-10000.
    let value = text.split_whitespace().next_back().unwrap_or_default();
    assert!(value == "300" || value == "2930", "{text}");

    // A leaf weight needs CFQ, gone from the kernel since 5.0: refused,
    // not ignored.
    io.leaf_weight = Some(100);
    let mut wd = WeightDevice::default();
    wd.leaf_weight = Some(100);
    io.weight_device = vec![wd];
    resources(&mut b).block_io = Some(io);
    b.write();
    let e =
        b.rt.create("t-blkio-lw", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(
        matches!(
            e,
            ocikit_runtime::Error::ControllerMissing {
                setting: "blockIO.leafWeight",
                ..
            }
        ),
        "{e}"
    );
    assert!(b.rt.list().unwrap().is_empty());
}

fn hugepage_limit() {
    if !root_or_skip() {
        return;
    }
    if !std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        testkit::need::skip("no 2MB huge pages");
        return;
    }
    // On the hybrid host hugetlb lives in the cgroup2 hierarchy, mounted
    // at /sys/fs/cgroup/unified in the container.
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes 2>/dev/null \
         || cat /sys/fs/cgroup/unified/hugetlb.2MB.max 2>/dev/null \
         || cat /sys/fs/cgroup/hugetlb.2MB.max",
    ]);
    resources(&mut b).hugepage_limits = vec![HugepageLimit::new("2MB", 4 << 20)];
    let (code, out) = b.run("t-hugetlb");
    assert_eq!((code, out.as_str()), (0, "4194304\n"), "{out}");
}

fn network_and_rdma_need_controllers() {
    if !root_or_skip() {
        return;
    }
    let present = |c: &str| {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.contains(" - cgroup ") && l.split(',').any(|o| o == c))
    };
    let mut b = Bundle::new(&["true"]);
    let mut n = Network::default();
    n.class_id = Some(0x100001);
    resources(&mut b).network = Some(n);
    b.write();
    if present("net_cls") {
        testkit::need::skip("net_cls is mounted here");
        return;
    }
    let e =
        b.rt.create("t-netcls", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(
        matches!(
            e,
            ocikit_runtime::Error::ControllerMissing {
                controller: "net_cls",
                ..
            }
        ),
        "{e}"
    );
    resources(&mut b).network = None;
    resources(&mut b)
        .rdma
        .insert("mlx4_0".into(), Rdma::default());
    b.write();
    let e =
        b.rt.create("t-rdma", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(
        matches!(
            e,
            ocikit_runtime::Error::ControllerMissing {
                controller: "rdma",
                ..
            }
        ),
        "{e}"
    );
    assert!(b.rt.list().unwrap().is_empty());
}

fn idmapped_bind_mount() {
    if !root_or_skip() {
        return;
    }
    let data = tempfile::Builder::new()
        .prefix("ocikit-idmap")
        .tempdir()
        .unwrap();
    for (name, id) in [("root", 0), ("other", 1234)] {
        let f = data.path().join(name);
        std::fs::write(&f, name).unwrap();
        std::os::unix::fs::chown(&f, Some(id), Some(id)).unwrap();
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "busybox stat -c '%n %u:%g' /data/root /data/other; cat /data/root",
    ]);
    let mut m = Mount::new(
        "/data",
        "bind",
        data.path().to_str().unwrap(),
        &["rbind", "ro", "idmap"],
    );
    // On-disk 0 shows as 1234 (the ids a container's user namespace
    // would map 0 to); 1234 has no mapping and shows as the overflow id.
    m.uid_mappings = vec![IdMapping::new(0, 1234, 1)];
    m.gid_mappings = vec![IdMapping::new(0, 1234, 1)];
    b.spec.mounts.push(m);
    let (code, out) = b.run("t-idmap");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "/data/root 1234:1234\n/data/other 65534:65534\nroot");
    // The host's view is unchanged.
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(data.path().join("root")).unwrap();
    assert_eq!((md.uid(), md.gid()), (0, 0));
}

fn net_device_moved_and_renamed() {
    if !root_or_skip() {
        return;
    }
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    let host = "ocikit-dmy0";
    let peer = "ocikit-dmy0p";
    let _ = ip(&["link", "del", host]);
    let _ = ip(&["link", "del", peer]);
    // A dummy interface, or one end of a veth pair on kernels without the
    // dummy driver.
    if !ip(&["link", "add", host, "type", "dummy"])
        && !ip(&["link", "add", host, "type", "veth", "peer", "name", peer])
    {
        testkit::need::skip("cannot create a dummy or veth interface");
        return;
    }
    // Its permanent address goes with it.
    assert!(ip(&["addr", "add", "169.254.169.13/32", "dev", host]));
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "ls /sys/class/net; busybox ip -4 -o addr show dev ctr0",
    ]);
    let mut dev = NetDevice::default();
    dev.name = "ctr0".into();
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .net_devices
        .insert(host.into(), dev);
    let (code, out) = b.run("t-netdev");
    // Moved out of the host's namespace (virtual devices die with the
    // container's).
    let gone = !std::path::Path::new("/sys/class/net").join(host).exists();
    let _ = ip(&["link", "del", host]);
    let _ = ip(&["link", "del", peer]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ctr0\nlo\n"), "{out}");
    assert!(out.contains("inet 169.254.169.13/32"), "{out}");
    assert!(gone);

    // A device that does not exist fails create, naming it.
    b.write();
    let e =
        b.rt.create("t-netdev2", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains(host), "{e}");
    assert!(b.rt.list().unwrap().is_empty());
}

fn idmapped_mount_in_user_namespace() {
    if !root_or_skip() {
        return;
    }
    // Host files owned by root, in a container whose root is host 100000:
    // with `idmap` and no mappings of its own, the mount takes the
    // container's, so they show as owned by the container's root, who can
    // also create files there (owned by host root on disk).
    let data = tempfile::Builder::new()
        .prefix("ocikit-idmap-userns")
        .tempdir()
        .unwrap();
    std::fs::write(data.path().join("f"), "x").unwrap();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "busybox stat -c '%u:%g' /data/f && touch /data/new && busybox stat -c '%u:%g' /data/new",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The container's root may not create it in the host-owned rootfs.
    std::fs::create_dir(b.path().join("rootfs/data")).unwrap();
    let linux = b.spec.linux.as_mut().unwrap();
    linux.namespaces.push(Namespace::new(NamespaceType::User));
    linux.uid_mappings = vec![IdMapping::new(0, 100000, 65536)];
    linux.gid_mappings = vec![IdMapping::new(0, 100000, 65536)];
    b.spec.mounts.push(Mount::new(
        "/data",
        "bind",
        data.path().to_str().unwrap(),
        &["bind", "idmap"],
    ));
    let (code, out) = b.run("t-idmap-userns");
    assert_eq!((code, out.as_str()), (0, "0:0\n0:0\n"), "{out}");
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(data.path().join("new")).unwrap();
    assert_eq!((md.uid(), md.gid()), (0, 0));
}
