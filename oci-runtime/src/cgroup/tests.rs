use super::devices::device_rules;
use super::limits::block_io_writes;
use super::*;
use ocikit_types::runtime::{BlockIo, Device, DeviceCgroup, Resources};

const HYBRID: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw
28 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
29 26 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
30 26 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:12 - cgroup cgroup rw,xattr,name=systemd
31 26 0:27 /sub /mnt/memsub rw,nosuid shared:11 - cgroup cgroup rw,memory
";

#[test]
fn hybrid_layout() {
    let h = parse_mountinfo(HYBRID);
    let names: Vec<_> = h.iter().map(|h| (h.name.as_str(), h.v2)).collect();
    assert_eq!(
        names,
        [("unified", true), ("cpu,cpuacct", false), ("memory", false)]
    );
    assert_eq!(h[1].controllers, ["cpu", "cpuacct"]);
}

#[test]
fn pure_v2_layout() {
    let h = parse_mountinfo("35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
    assert_eq!(h.len(), 1);
    assert!(h[0].v2);
    assert_eq!(h[0].mountpoint, Path::new("/sys/fs/cgroup"));
}

#[test]
fn paths() {
    assert_eq!(relative_path("", "c1").unwrap(), Path::new("ocikit/c1"));
    assert_eq!(relative_path("/a/b", "c1").unwrap(), Path::new("a/b"));
    assert!(relative_path("/a/../..", "c").is_err());
    assert!(matches!(
        relative_path("system.slice:ocikit:c", "c"),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn limits_go_to_v1_or_v2_files() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = dir.path().join("memory/c");
    let v2 = dir.path().join("unified/c");
    std::fs::create_dir_all(&v1).unwrap();
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(v2.join("pids.max"), "max").unwrap();
    let h = |name: &str, c: &[&str], v2| Hierarchy {
        name: name.into(),
        controllers: c.iter().map(|s| s.to_string()).collect(),
        mountpoint: dir.path().join(name),
        v2,
    };
    let cg = Cgroup {
        dirs: vec![
            (h("memory", &["memory"], false), v1.clone()),
            (h("unified", &[], true), v2.clone()),
        ],
    };
    let mut r = Resources::default();
    let mut m = ocikit_types::runtime::Memory::default();
    m.limit = Some(1 << 20);
    r.memory = Some(m);
    r.pids = Some(ocikit_types::runtime::Pids::new(10));
    cg.apply(&r).unwrap();
    assert_eq!(
        std::fs::read_to_string(v1.join("memory.limit_in_bytes")).unwrap(),
        "1048576"
    );
    assert_eq!(std::fs::read_to_string(v2.join("pids.max")).unwrap(), "10");
    r.pids = None;
    let mut cpu = ocikit_types::runtime::Cpu::default();
    cpu.shares = Some(512);
    r.cpu = Some(cpu);
    let e = cg.apply(&r).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cgroup controller cpu is not available on this host (needed for cpu.shares)"
    );
}

#[test]
fn block_io_files() {
    use ocikit_types::runtime::{ThrottleDevice, WeightDevice};
    let mut b = BlockIo::default();
    let mut t = ThrottleDevice::default();
    t.major = 254;
    t.rate = Some(1 << 20);
    b.throttle_read_bps_device = vec![t.clone()];
    t.rate = Some(0);
    b.throttle_write_iops_device = vec![t];
    let none = |_: &str| false;
    assert_eq!(
        block_io_writes(&b, false, &none).unwrap(),
        [
            ("blkio.throttle.read_bps_device", "254:0 1048576".to_owned()),
            ("blkio.throttle.write_iops_device", "254:0 0".to_owned()),
        ]
    );
    assert_eq!(
        block_io_writes(&b, true, &none).unwrap(),
        [
            ("io.max", "254:0 rbps=1048576".to_owned()),
            ("io.max", "254:0 wiops=max".to_owned()),
        ]
    );
    b = BlockIo::default();
    b.weight = Some(500);
    let mut wd = WeightDevice::default();
    wd.major = 8;
    wd.weight = Some(10);
    b.weight_device = vec![wd];
    let e = block_io_writes(&b, false, &none).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cgroup controller blkio weight (BFQ or CFQ group scheduling) is not available \
         on this host (needed for blockIO.weight)"
    );
    let cfq = |f: &str| f == "blkio.weight";
    assert_eq!(
        block_io_writes(&b, false, &cfq).unwrap(),
        [
            ("blkio.weight", "500".to_owned()),
            ("blkio.weight_device", "8:0 10".to_owned()),
        ]
    );
    let bfq = |f: &str| f == "blkio.bfq.weight";
    assert_eq!(
        block_io_writes(&b, false, &bfq).unwrap()[1],
        ("blkio.bfq.weight_device", "8:0 10".to_owned())
    );
    let io = |f: &str| f == "io.weight";
    assert_eq!(
        block_io_writes(&b, true, &io).unwrap(),
        [
            ("io.weight", "default 4950".to_owned()),
            ("io.weight", "8:0 1".to_owned()),
        ]
    );
    b.leaf_weight = Some(100);
    assert!(block_io_writes(&b, true, &io).is_err());
}

#[test]
fn hugepages_network_rdma_files() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("unified/c");
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(v2.join("hugetlb.2MB.max"), "max").unwrap();
    std::fs::write(v2.join("hugetlb.2MB.rsvd.max"), "max").unwrap();
    let cg = Cgroup {
        dirs: vec![(
            Hierarchy {
                name: "unified".into(),
                controllers: Vec::new(),
                mountpoint: dir.path().join("unified"),
                v2: true,
            },
            v2.clone(),
        )],
    };
    let mut r = Resources::default();
    r.hugepage_limits = vec![ocikit_types::runtime::HugepageLimit::new("2MB", 4 << 20)];
    cg.apply(&r).unwrap();
    for f in ["hugetlb.2MB.max", "hugetlb.2MB.rsvd.max"] {
        assert_eq!(std::fs::read_to_string(v2.join(f)).unwrap(), "4194304");
    }
    r.hugepage_limits = vec![ocikit_types::runtime::HugepageLimit::new("../x", 1)];
    assert!(matches!(cg.apply(&r), Err(Error::BadConfig { .. })));
    r.hugepage_limits.clear();
    let mut n = ocikit_types::runtime::Network::default();
    n.class_id = Some(7);
    r.network = Some(n);
    assert!(matches!(
        cg.apply(&r),
        Err(Error::ControllerMissing {
            controller: "net_cls",
            ..
        })
    ));
    r.network = None;
    r.rdma
        .insert("mlx4_0".into(), ocikit_types::runtime::Rdma::default());
    assert!(matches!(
        cg.apply(&r),
        Err(Error::ControllerMissing {
            controller: "rdma",
            ..
        })
    ));
}

#[test]
fn configured_devices_are_allowed() {
    let mut r = Resources::default();
    r.devices = vec![DeviceCgroup::all(false)];
    let mut c = Device::new("c", "/dev/test1");
    (c.major, c.minor) = (Some(10), Some(666));
    let mut b = Device::new("b", "/dev/test2");
    (b.major, b.minor) = (Some(8), Some(666));
    let p = Device::new("p", "/dev/test3");
    let rules = device_rules(&allow_devices(&r, &[c, b, p]));
    assert_eq!(rules[0], ("devices.deny", "a".to_owned()));
    assert_eq!(rules[1], ("devices.allow", "c 10:666 rwm".to_owned()));
    assert_eq!(rules[2], ("devices.allow", "b 8:666 rwm".to_owned()));
    assert_eq!(rules[3], ("devices.allow", "c 1:3 rwm".to_owned()));
    assert!(
        allow_devices(&Resources::default(), &[Device::new("c", "/dev/x")])
            .devices
            .is_empty()
    );
}

#[test]
fn default_device_rules() {
    let mut r = Resources::default();
    r.devices = vec![ocikit_types::runtime::DeviceCgroup::all(false)];
    let rules = device_rules(&r);
    assert_eq!(rules[0], ("devices.deny", "a".to_owned()));
    assert!(rules.contains(&("devices.allow", "c 1:3 rwm".to_owned())));
    assert!(rules.contains(&("devices.allow", "c 136:* rwm".to_owned())));
}

#[test]
fn device_rules_without_devices_controller_or_cgroup2_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = dir.path().join("memory/c");
    std::fs::create_dir_all(&v1).unwrap();
    let cg = Cgroup {
        dirs: vec![(
            Hierarchy {
                name: "memory".into(),
                controllers: vec!["memory".into()],
                mountpoint: dir.path().join("memory"),
                v2: false,
            },
            v1,
        )],
    };
    let mut r = Resources::default();
    r.devices = vec![DeviceCgroup::all(false)];
    assert!(matches!(
        cg.apply(&r),
        Err(Error::ControllerMissing {
            controller: "devices",
            ..
        })
    ));
}
