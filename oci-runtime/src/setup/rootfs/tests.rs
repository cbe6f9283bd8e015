use super::idmap::IdmapRequest;
use super::*;
use crate::sys::fake::Recording;

fn opts(userns: bool) -> RootfsOptions {
    RootfsOptions {
        rootfs: "/b/rootfs".into(),
        bundle: "/b".into(),
        pivot: Pivot::PivotRoot,
        userns,
        cgroup_v2: false,
        cgroup_binds: vec![
            CgroupBind {
                name: "memory".into(),
                host_dir: "/sys/fs/cgroup/memory/ocikit/c".into(),
            },
            CgroupBind {
                name: "cpu,cpuacct".into(),
                host_dir: "/sys/fs/cgroup/cpu,cpuacct/ocikit/c".into(),
            },
        ],
        idmapped: Vec::new(),
    }
}

fn has(lines: &[String], want: &str) -> usize {
    lines
        .iter()
        .position(|l| l == want)
        .unwrap_or_else(|| panic!("missing {want:?} in\n{}", lines.join("\n")))
}

#[test]
fn options_split_into_flags_propagation_and_data() {
    let o = parse_options(&[
        "nosuid".into(),
        "rw".into(),
        "ro".into(),
        "mode=755".into(),
        "rslave".into(),
        "size=1k".into(),
    ]);
    assert_eq!(o.flags, MS_NOSUID | MS_RDONLY);
    assert_eq!(o.propagation, MS_SLAVE | MS_REC);
    assert_eq!(o.data, ["mode=755", "size=1k"]);
    let o = parse_options(&["ro".into(), "rw".into(), "rbind".into()]);
    assert_eq!(o.flags, MS_BIND | MS_REC);
    assert!(!o.copy_up);
    // runc's extension is the engine's business, never the kernel's.
    let o = parse_options(&["nosuid".into(), "tmpcopyup".into()]);
    assert!(o.copy_up);
    assert!(o.data.is_empty());
}

#[test]
fn default_spec_mounts_in_order() {
    let spec = Spec::default_linux();
    let sys = Recording {
        dirs: ["/proc/acpi", "/proc/scsi", "/sys/firmware"]
            .map(String::from)
            .into(),
        missing: ["/proc/kcore"].map(String::from).into(),
        ..Recording::default()
    };
    prepare(&sys, &spec, &opts(false)).unwrap();
    let l = sys.lines();
    let slave = has(&l, &format!("mount none / none {:#x} ", MS_SLAVE | MS_REC));
    let bind = has(
        &l,
        &format!("mount /b/rootfs /b/rootfs none {:#x} ", MS_BIND | MS_REC),
    );
    let proc_ = has(&l, "mount proc /b/rootfs/proc proc 0x0 ");
    assert!(slave < bind && bind < proc_);
    has(
        &l,
        &format!(
            "mount tmpfs /b/rootfs/dev tmpfs {:#x} mode=755,size=65536k",
            MS_NOSUID | MS_STRICTATIME
        ),
    );
    has(
        &l,
        &format!(
            "mount sysfs /b/rootfs/sys sysfs {:#x} ",
            MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY
        ),
    );
    // cgroup on a v1 host: tmpfs, one bind per hierarchy, aliases, then ro.
    has(
        &l,
        &format!(
            "mount /sys/fs/cgroup/memory/ocikit/c /b/rootfs/sys/fs/cgroup/memory none {:#x} ",
            MS_BIND | MS_REC
        ),
    );
    has(&l, "symlink /sys/fs/cgroup/cpu -> cpu,cpuacct");
    // Devices after the /dev tmpfs; ptmx because /dev/pts is mounted.
    has(
        &l,
        &format!("mknod /dev/null {:o} 1:3", libc::S_IFCHR | 0o666),
    );
    has(&l, "symlink /dev/ptmx -> pts/ptmx");
    has(&l, "symlink /dev/fd -> /proc/self/fd");
    // Masks: a directory gets a read-only tmpfs, a file /dev/null, a
    // missing path nothing.
    has(
        &l,
        &format!("mount tmpfs /b/rootfs/proc/acpi tmpfs {:#x} ", MS_RDONLY),
    );
    has(
        &l,
        &format!(
            "mount /dev/null /b/rootfs/proc/timer_list none {:#x} ",
            MS_BIND
        ),
    );
    assert!(!l
        .iter()
        .any(|x| x.contains("kcore") && x.starts_with("mount")));
    // Read-only paths: bind onto itself then remount.
    let b = has(
        &l,
        &format!(
            "mount /b/rootfs/proc/sys /b/rootfs/proc/sys none {:#x} ",
            MS_BIND | MS_REC
        ),
    );
    let r = has(
        &l,
        &format!(
            "mount none /b/rootfs/proc/sys none {:#x} ",
            MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC
        ),
    );
    assert!(b < r);
    assert_eq!(l.last().unwrap(), "sethostname runc");
}

#[test]
fn user_namespace_binds_devices_instead_of_mknod() {
    let spec = Spec::default_linux();
    let sys = Recording::default();
    prepare(&sys, &spec, &opts(true)).unwrap();
    let l = sys.lines();
    assert!(!l.iter().any(|x| x.starts_with("mknod")));
    has(
        &l,
        &format!("mount /dev/null /b/rootfs/dev/null none {:#x} ", MS_BIND),
    );
}

#[test]
fn bind_mount_with_options_is_remounted() {
    let mut spec = Spec::new("1.0.2");
    spec.mounts = vec![Mount::new(
        "/data",
        "bind",
        "/host/data",
        &["rbind", "ro", "nosuid", "rprivate"],
    )];
    let sys = Recording::default();
    prepare(&sys, &spec, &opts(false)).unwrap();
    let l = sys.lines();
    let a = has(
        &l,
        &format!(
            "mount /host/data /b/rootfs/data none {:#x} ",
            MS_BIND | MS_REC
        ),
    );
    let b = has(
        &l,
        &format!(
            "mount none /b/rootfs/data none {:#x} ",
            MS_RDONLY | MS_NOSUID | MS_BIND | MS_REMOUNT | MS_REC
        ),
    );
    let c = has(
        &l,
        &format!("mount none /b/rootfs/data none {:#x} ", MS_PRIVATE | MS_REC),
    );
    assert!(a < b && b < c);
}

#[test]
fn sysctl_and_failures_name_the_step() {
    let mut spec = Spec::new("1.0.2");
    let mut linux = ocikit_types::runtime::Linux::default();
    linux
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    spec.linux = Some(linux);
    spec.mounts = vec![Mount::new("/proc", "proc", "proc", &[])];
    let sys = Recording::default();
    prepare(&sys, &spec, &opts(false)).unwrap();
    has(&sys.lines(), "write /proc/sys/net/ipv4/ip_forward 1");

    let sys = Recording {
        fail_prefix: Some("mount proc".into()),
        ..Recording::default()
    };
    let e = prepare(&sys, &spec, &opts(false)).unwrap_err();
    // The step alone is the error's message; what the runtime shows is
    // the whole chain.
    assert_eq!(e.to_string(), "mount proc (proc) on /proc");
    assert_eq!(
        e.report().message,
        format!(
            "mount proc (proc) on /proc: {}",
            std::io::Error::from_raw_os_error(libc::EPERM)
        )
    );
}

#[test]
fn enter_pivots_or_moves_then_readonly_root() {
    let spec = Spec::default_linux();
    let sys = Recording::default();
    enter(&sys, &spec, &opts(false)).unwrap();
    assert_eq!(
        sys.lines(),
        [
            "pivot_root /b/rootfs".to_owned(),
            format!("mount none / none {:#x} ", MS_BIND | MS_REMOUNT | MS_RDONLY)
        ]
    );
    let mut o = opts(false);
    o.pivot = Pivot::MoveRoot;
    let sys = Recording::default();
    enter(&sys, &spec, &o).unwrap();
    assert_eq!(sys.lines()[0], "move_root /b/rootfs");
}

#[test]
fn config_devices_with_owner() {
    let mut spec = Spec::default_linux();
    let mut d = ocikit_types::runtime::Device::new("c", "/dev/fuse");
    d.major = Some(10);
    d.minor = Some(229);
    d.file_mode = Some(0o600);
    d.uid = Some(1000);
    spec.linux.as_mut().unwrap().devices.push(d);
    let sys = Recording::default();
    prepare(&sys, &spec, &opts(false)).unwrap();
    let l = sys.lines();
    let m = has(
        &l,
        &format!("mknod /dev/fuse {:o} 10:229", libc::S_IFCHR | 0o600),
    );
    let c = has(&l, "chown /dev/fuse 1000:0");
    assert!(m < c);
}

#[test]
fn idmapped_bind_mounts() {
    use ocikit_types::runtime::IdMapping;
    let mut spec = Spec::default_linux();
    let mut m = Mount::new("/data", "bind", "/srv/data", &["rbind", "ro", "ridmap"]);
    m.uid_mappings = vec![IdMapping::new(0, 1000, 10)];
    m.gid_mappings = vec![IdMapping::new(0, 2000, 10), IdMapping::new(100, 5000, 1)];
    spec.mounts.push(m);
    let reqs = idmap_requests(&spec).unwrap();
    let index = spec.mounts.len() - 1;
    assert_eq!(
        reqs,
        [IdmapRequest {
            index,
            source: "/srv/data".into(),
            tree: true,
            recursive: true,
            uid_map: "0 1000 10\n".into(),
            gid_map: "0 2000 10\n100 5000 1\n".into(),
        }]
    );
    let mut o = opts(false);
    o.idmapped = vec![(index, 42)];
    let sys = Recording::default();
    prepare(&sys, &spec, &o).unwrap();
    let l = sys.lines();
    let at = has(&l, "attach_tree 42 /b/rootfs/data");
    // The options idmap does not consume still apply, by remount.
    assert_eq!(
        l[at + 1],
        format!(
            "mount none /b/rootfs/data none {:#x} ",
            MS_RDONLY | MS_BIND | MS_REMOUNT | MS_REC
        )
    );
    assert!(!l.iter().any(|l| l.starts_with("mount /srv/data")));

    // The option alone takes the container's mappings, which must exist.
    let last = spec.mounts.last_mut().unwrap();
    last.uid_mappings.clear();
    last.gid_mappings.clear();
    last.options = vec!["bind".into(), "idmap".into()];
    let e = idmap_requests(&spec).unwrap_err();
    assert_eq!(e.field, "mounts[].uidMappings");
    let linux = spec.linux.as_mut().unwrap();
    linux.uid_mappings = vec![IdMapping::new(0, 3000, 1)];
    linux.gid_mappings = vec![IdMapping::new(0, 3000, 1)];
    assert_eq!(idmap_requests(&spec).unwrap()[0].uid_map, "0 3000 1\n");
    // Only bind mounts.
    let last = spec.mounts.last_mut().unwrap();
    last.kind = "tmpfs".into();
    last.options = vec!["idmap".into()];
    assert!(idmap_requests(&spec).is_err());
}

#[test]
fn unbindable_root_is_private_until_entered() {
    let mut spec = Spec::default_linux();
    spec.linux.as_mut().unwrap().rootfs_propagation = Some(RootfsPropagation::Unbindable);
    let sys = Recording::default();
    prepare(&sys, &spec, &opts(false)).unwrap();
    let l = sys.lines();
    let private = has(
        &l,
        &format!("mount none / none {:#x} ", MS_PRIVATE | MS_REC),
    );
    let bind = has(
        &l,
        &format!("mount /b/rootfs /b/rootfs none {:#x} ", MS_BIND | MS_REC),
    );
    assert!(private < bind);
    let sys = Recording::default();
    enter(&sys, &spec, &opts(false)).unwrap();
    has(
        &sys.lines(),
        &format!("mount none / none {:#x} ", MS_UNBINDABLE | MS_REC),
    );
}

/// The calls `prepare_joining_net` makes for `spec`, with the join
/// recorded as `join net`; asserts that it joins exactly once.
fn calls_joining_net(spec: &Spec, dirs: &[&str]) -> Vec<String> {
    let sys = Recording {
        dirs: dirs.iter().map(|d| d.to_string()).collect(),
        ..Recording::default()
    };
    let mut joins = 0;
    prepare_joining_net(&sys, spec, &opts(false), &mut || {
        joins += 1;
        sys.calls.borrow_mut().push("join net".into());
        Ok(())
    })
    .unwrap();
    assert_eq!(joins, 1);
    sys.lines()
}

#[test]
fn network_namespace_joined_once_before_sysfs() {
    let spec = Spec::default_linux();
    let l = calls_joining_net(&spec, &["/proc/acpi", "/proc/scsi", "/sys/firmware"]);
    let join = has(&l, "join net");
    let sysfs = l.iter().position(|c| c.contains(" sysfs ")).unwrap();
    let proc_ = l.iter().position(|c| c.contains(" proc ")).unwrap();
    assert!(proc_ < join && join < sysfs, "{}", l.join("\n"));

    // Without a sysfs mount: after the mounts, before masks and sysctls.
    let mut spec = Spec::default_linux();
    spec.mounts.retain(|m| m.kind != "sysfs");
    let l = calls_joining_net(&spec, &["/proc/acpi", "/proc/scsi"]);
    let join = has(&l, "join net");
    let last_mount = l.iter().rposition(|c| c.contains("/dev/mqueue")).unwrap();
    assert!(last_mount < join, "{}", l.join("\n"));

    // A failure names the step.
    let sys = Recording::default();
    let e = prepare_joining_net(&sys, &spec, &opts(false), &mut || {
        Err(io::Error::from_raw_os_error(libc::EPERM))
    })
    .unwrap_err();
    assert!(e.to_string().contains("network namespace"), "{e}");
}

#[test]
fn recursive_options_become_one_recursive_mount_setattr() {
    let mut spec = Spec::default_linux();
    spec.mounts = vec![Mount::new(
        "/data",
        "bind",
        "/src",
        &["rbind", "ro", "rro", "rnoatime", "rnosuid"],
    )];
    let sys = Recording::default();
    prepare(&sys, &spec, &opts(false)).unwrap();
    let l = sys.lines();
    let bind = has(
        &l,
        &format!("mount /src /b/rootfs/data none {:#x} ", MS_BIND | MS_REC),
    );
    // RDONLY | NOSUID | NOATIME set, the whole atime field cleared.
    let attr = has(
        &l,
        "mount_setattr /b/rootfs/data recursive=true set=0x13 clear=0x70",
    );
    assert!(bind < attr);

    spec.mounts = vec![Mount::new("/data", "bind", "/src", &["rbind", "rsync"])];
    let e = prepare(&Recording::default(), &spec, &opts(false)).unwrap_err();
    assert!(e.to_string().contains("\"rsync\" on /data"), "{e}");
    spec.mounts = vec![Mount::new("/data", "bind", "/src", &["bind", "mode=755"])];
    let e = prepare(&Recording::default(), &spec, &opts(false)).unwrap_err();
    assert!(e.to_string().contains("\"mode=755\" on /data"), "{e}");
}
