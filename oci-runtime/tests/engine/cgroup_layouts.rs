//! Pure cgroup v1 and pure cgroup v2 hosts, simulated in a private mount
//! namespace of a child process (this host is hybrid): the child re-runs
//! this binary, which runs one container with the engine and exits with
//! its status.

use std::path::Path;
use std::process::Command;

use ocikit_runtime::{CreateOptions, Runtime};
use ocikit_types::runtime::{Capability, DeviceCgroup, Memory, Namespace, NamespaceType};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("cgroup_layouts::pure_v1", pure_v1),
    ("cgroup_layouts::pure_v2", pure_v2),
    (
        "cgroup_layouts::pure_v2_hugetlb_and_block_io",
        pure_v2_hugetlb_and_block_io,
    ),
    (
        "cgroup_layouts::pure_v2_device_rules_are_enforced_by_ebpf",
        pure_v2_device_rules_are_enforced_by_ebpf,
    ),
    (
        "cgroup_layouts::v1_net_cls_and_net_prio",
        v1_net_cls_and_net_prio,
    ),
    (
        "cgroup_layouts::init_enters_every_hierarchy_and_roots_its_cgroup_namespace",
        init_enters_every_hierarchy_and_roots_its_cgroup_namespace,
    ),
    (
        "cgroup_layouts::v1_cgroup_mount_shows_own_groups_read_only",
        v1_cgroup_mount_shows_own_groups_read_only,
    ),
    (
        "cgroup_layouts::pure_v2_cgroup_namespace",
        pure_v2_cgroup_namespace,
    ),
    (
        "cgroup_layouts::cgroup_procs_where_clone3_is_refused",
        cgroup_procs_where_clone3_is_refused,
    ),
];

/// Set in the child: refuse clone3(2) with ENOSYS (as the seccomp
/// profiles of older container engines do) before running.
const NO_CLONE3: &str = "OCIKIT_TEST_NO_CLONE3";

const ENV: &str = "OCIKIT_TEST_RUN";

/// In the child: `OCIKIT_TEST_RUN=root:bundle:id` runs that container.
pub(crate) fn run_if_requested() {
    let Ok(req) = std::env::var(ENV) else { return };
    let parts: Vec<&str> = req.splitn(3, ':').collect();
    if std::env::var_os(NO_CLONE3).is_some() {
        refuse_clone3();
    }
    let rt = Runtime::new(parts[0]);
    let code = match rt.run(parts[2], parts[1], CreateOptions::new()) {
        Ok(s) => s.code(),
        Err(e) => {
            println!("engine error: {e}");
            99
        }
    };
    std::process::exit(code);
}

/// Installs a seccomp filter on this process (and so on the runtime's
/// children) that fails clone3(2) with ENOSYS, and checks that it does.
fn refuse_clone3() {
    let nr = libc::SYS_clone3 as u32;
    let filter = [
        // Load the syscall number; clone3 -> ERRNO(ENOSYS), else allow.
        bpf(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        bpf(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 0, 1, nr),
        bpf(
            libc::BPF_RET | libc::BPF_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        bpf(libc::BPF_RET | libc::BPF_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `filter`, both alive for the call; root
    // may install a filter without no_new_privs.
    let rc = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) };
    assert_eq!(rc, 0, "seccomp: {}", std::io::Error::last_os_error());
    // SAFETY: a clone3 with no arguments fails (EINVAL without the filter).
    let rc = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    let err = std::io::Error::last_os_error().raw_os_error();
    assert_eq!((rc, err), (-1, Some(libc::ENOSYS)), "clone3 still allowed");
}

fn bpf(code: u32, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// A bundle that prints the cgroups its process sees, in a cgroup
/// namespace of its own.
fn cgroupns_bundle() -> Bundle {
    let mut b = Bundle::new(&["cat", "/proc/self/cgroup"]);
    let linux = b.spec.linux.as_mut().unwrap();
    if !linux
        .namespaces
        .iter()
        .any(|n| n.kind == NamespaceType::Cgroup)
    {
        linux.namespaces.push(Namespace::new(NamespaceType::Cgroup));
    }
    linux.resources = None;
    b
}

/// Every line of /proc/PID/cgroup for a hierarchy the runtime manages
/// ends with `suffix`: not named ones such as name=systemd, nor ones not
/// mounted under /sys/fs/cgroup (another test may have left one).
fn assert_cgroup_lines(text: &str, suffix: &str) {
    let managed = |l: &&str| {
        let controllers = l.split(':').nth(1).unwrap_or_default();
        let first = controllers.split(',').next().unwrap_or_default();
        controllers.is_empty()
            || (!first.starts_with("name=") && Path::new("/sys/fs/cgroup").join(first).exists())
    };
    let lines: Vec<&str> = text.lines().filter(managed).collect();
    assert!(!lines.is_empty(), "{text}");
    for l in lines {
        assert!(
            l.ends_with(suffix),
            "{l:?} should end with {suffix:?} in\n{text}"
        );
    }
}

/// The init moves itself into the v1 groups and is cloned into the
/// cgroup2 group (CLONE_INTO_CGROUP); its cgroup namespace, made after
/// that, is rooted at the container's group in every hierarchy.
fn init_enters_every_hierarchy_and_roots_its_cgroup_namespace() {
    if !root_or_skip() {
        return;
    }
    let b = cgroupns_bundle();
    b.write();
    let (o, out) = b.capture();
    let id = "t-cgns";
    b.rt.create(id, b.path(), o).unwrap();
    let pid = b.rt.state(id).unwrap().pid.unwrap();
    let host = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_cgroup_lines(&host, &format!(":/ocikit/{id}"));
    if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        assert!(host.lines().any(|l| l.starts_with("0::")), "{host}");
    }
    b.rt.start(id).unwrap();
    assert_eq!(b.rt.wait(id).unwrap().code(), 0);
    b.rt.delete(id, ocikit_runtime::DeleteMode::Stopped)
        .unwrap();
    assert_cgroup_lines(&std::fs::read_to_string(out).unwrap(), ":/");
}

/// On a v1 (here hybrid) host the config's `cgroup` mount is a tmpfs
/// with one bind per hierarchy of the container's own group: each read
/// only, nosuid, nodev, noexec, as the mount's options ask.
fn v1_cgroup_mount_shows_own_groups_read_only() {
    if !root_or_skip() {
        return;
    }
    if !Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists() {
        testkit::need::skip("no v1 pids hierarchy");
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep ' /sys/fs/cgroup' /proc/self/mountinfo | cut -d' ' -f5,6; \
         cat /sys/fs/cgroup/pids/pids.max; \
         echo 5 > /sys/fs/cgroup/pids/pids.max && echo written; true",
    ]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = linux.resources.clone().unwrap_or_default();
    r.pids = Some(ocikit_types::runtime::Pids::new(77));
    linux.resources = Some(r);
    let (code, out) = b.run("t-cgmount");
    assert_eq!(code, 0, "{out}");
    let mounts: Vec<&str> = out.lines().filter(|l| l.starts_with('/')).collect();
    // The tmpfs and a bind for every v1 hierarchy at least (pids, memory).
    assert!(mounts.len() >= 3, "{out}");
    for m in &mounts {
        let (dest, opts) = m.split_once(' ').unwrap();
        let opts: Vec<&str> = opts.split(',').collect();
        for want in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(opts.contains(&want), "{dest} lacks {want}: {out}");
        }
    }
    for ctl in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory"] {
        assert!(
            mounts.iter().any(|m| m.starts_with(&format!("{ctl} "))),
            "{ctl}: {out}"
        );
    }
    assert!(out.lines().any(|l| l == "77"), "{out}");
    assert!(!out.contains("written"), "{out}");
}

fn pure_v2_cgroup_namespace() {
    if !root_or_skip() {
        return;
    }
    let b = cgroupns_bundle();
    let (code, out) = run_in_layout(
        &b,
        "t-v2-cgns",
        "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup",
    );
    assert_eq!(code, 0, "{out}");
    assert_cgroup_lines(&out, ":/");
    assert!(out.lines().any(|l| l == "0::/"), "{out}");
}

/// Where clone3 is refused, stage 1 writes itself into cgroup.procs
/// before the clone: same groups, same namespace root.
fn cgroup_procs_where_clone3_is_refused() {
    if !root_or_skip() {
        return;
    }
    let b = cgroupns_bundle();
    for (id, setup) in [
        ("t-noclone3", "true"),
        (
            "t-noclone3-v2",
            "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup",
        ),
    ] {
        let (code, out) = run_in_layout_env(&b, id, setup, &[(NO_CLONE3, "1")]);
        assert_eq!(code, 0, "{id}: {out}");
        assert_cgroup_lines(&out, ":/");
        assert!(out.lines().any(|l| l == "0::/"), "{out}");
    }
}

/// Runs the bundle in a child whose mount namespace first runs `setup`.
fn run_in_layout(b: &Bundle, id: &str, setup: &str) -> (i32, String) {
    run_in_layout_env(b, id, setup, &[])
}

/// [`run_in_layout`] with more environment variables for the child.
fn run_in_layout_env(b: &Bundle, id: &str, setup: &str, env: &[(&str, &str)]) -> (i32, String) {
    b.write();
    let out = b.path().join("out");
    let f = std::fs::File::create(&out).unwrap();
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let req = format!("{}:{}:{id}", b.rt.root().display(), b.path().display());
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!("{setup} && exec \"$0\" layout-child"))
        .arg(exe)
        .env(ENV, req)
        .envs(env.iter().copied())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(out).unwrap(),
    )
}

fn pure_v1() {
    if !root_or_skip() {
        return;
    }
    if !Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
        || !Path::new("/sys/fs/cgroup/memory").exists()
    {
        testkit::need::skip("needs this host's hybrid layout to derive a pure v1 one");
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls /sys/fs/cgroup",
    ]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = linux.resources.clone().unwrap_or_default();
    let mut m = Memory::default();
    m.limit = Some(32 << 20);
    r.memory = Some(m);
    linux.resources = Some(r);
    let (code, out) = run_in_layout(&b, "t-v1", "umount /sys/fs/cgroup/unified");
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], (32u64 << 20).to_string(), "{out}");
    assert!(!lines.contains(&"unified"), "{out}");
    assert!(
        lines.contains(&"memory") && lines.contains(&"pids"),
        "{out}"
    );
    assert!(!Path::new("/sys/fs/cgroup/memory/ocikit/t-v1").exists());
}

fn pure_v2() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/cgroup.type; test -e /sys/fs/cgroup/memory && echo v1-visible; true",
    ]);
    // Only hugetlb is available to cgroup2 on this host: no limits.
    b.spec.linux.as_mut().unwrap().resources = None;
    let (code, out) = run_in_layout(
        &b,
        "t-v2",
        "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "domain\n", "{out}");
    // The group was created under the cgroup2 root and removed again.
    assert!(!Path::new("/sys/fs/cgroup/unified/ocikit/t-v2").exists());
}

/// The major:minor of a block device the host lets this process open
/// for reading: the one holding the root filesystem if it can (some
/// sandboxes refuse it), else another whole disk (a loop device).
fn readable_block_device() -> Option<(i64, i64)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let root = info.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.len() > 4 && f[4] == "/").then(|| f[2].to_owned())
    });
    let mut disks: Vec<(String, String)> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let dev = std::fs::read_to_string(e.path().join("dev")).ok()?;
            Some((
                dev.trim().to_owned(),
                e.file_name().to_string_lossy().into_owned(),
            ))
        })
        .collect();
    disks.sort_by_key(|(dev, name)| (Some(dev) != root.as_ref(), name.clone()));
    let (dev, _) = disks
        .into_iter()
        .find(|(_, name)| std::fs::File::open(Path::new("/dev").join(name)).is_ok())?;
    let (ma, mi) = dev.split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// Without a v1 devices controller the rules become an eBPF program on
/// the container's cgroup2 group: with the default rules (deny all, the
/// standard devices allowed) a container with CAP_MKNOD can neither
/// create nor open a host disk (the root one where the host can open it), and an `r` rule for it lets it read
/// but still not create nor write.
fn pure_v2_device_rules_are_enforced_by_ebpf() {
    if !root_or_skip() {
        return;
    }
    let Some((major, minor)) = readable_block_device() else {
        testkit::need::skip("no block device this host lets us open");
        return;
    };
    let layout = "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup";
    let script = format!(
        "busybox mknod /tmp/new b {major} {minor} && echo mknod-ok; \
         busybox head -c 512 /tmp/disk >/dev/null && echo read-ok; \
         true >>/tmp/disk && echo write-ok; \
         busybox head -c 1 /dev/zero | busybox wc -c; \
         echo x >/dev/null && echo null-ok; true"
    );
    let mut b = Bundle::new(&["sh", "-c", &script]);
    b.spec.root.as_mut().unwrap().readonly = false;
    b.grant(Capability::Mknod);
    // The node is made by the host, outside the container's cgroup.
    let node = b.path().join("rootfs/tmp/disk");
    let dev = rustix::fs::makedev(major as u32, minor as u32);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &node,
        rustix::fs::FileType::BlockDevice,
        rustix::fs::Mode::from_raw_mode(0o600),
        dev,
    )
    .unwrap();
    let linux = b.spec.linux.as_ref().unwrap();
    assert_eq!(
        linux.resources.as_ref().unwrap().devices,
        vec![DeviceCgroup::all(false)],
        "the default config denies every device"
    );

    let (code, out) = run_in_layout(&b, "t-v2-dev", layout);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        out.contains("mknod: /tmp/new: Operation not permitted"),
        "{out}"
    );
    assert!(out.contains("/tmp/disk: Operation not permitted"), "{out}");
    assert!(
        !lines.contains(&"read-ok") && !lines.contains(&"write-ok"),
        "{out}"
    );
    assert!(lines.contains(&"1") && lines.contains(&"null-ok"), "{out}");
    // The group, and with it the program attached to it, is gone.
    assert!(!Path::new("/sys/fs/cgroup/unified/ocikit/t-v2-dev").exists());

    let mut allow = DeviceCgroup::all(true);
    allow.kind = Some("b".into());
    allow.major = Some(major);
    allow.minor = Some(minor);
    allow.access = Some("r".into());
    let r = b.spec.linux.as_mut().unwrap().resources.as_mut().unwrap();
    r.devices.push(allow);
    let (code, out) = run_in_layout(&b, "t-v2-dev-r", layout);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"read-ok"), "{out}");
    assert!(
        !lines.contains(&"mknod-ok") && !lines.contains(&"write-ok"),
        "{out}"
    );
    assert!(lines.contains(&"1") && lines.contains(&"null-ok"), "{out}");
    assert!(!Path::new("/sys/fs/cgroup/unified/ocikit/t-v2-dev-r").exists());
}

fn pure_v2_hugetlb_and_block_io() {
    if !root_or_skip() {
        return;
    }
    if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        testkit::need::skip("no 2MB huge pages");
        return;
    }
    let layout = "umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup";
    let mut b = Bundle::new(&["cat", "/sys/fs/cgroup/hugetlb.2MB.max"]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = ocikit_types::runtime::Resources::default();
    r.hugepage_limits = vec![ocikit_types::runtime::HugepageLimit::new("2MB", 8 << 20)];
    linux.resources = Some(r.clone());
    let (code, out) = run_in_layout(&b, "t-v2-hugetlb", layout);
    assert_eq!((code, out.as_str()), (0, "8388608\n"), "{out}");

    // This host's cgroup2 has no io controller: blockIO is refused.
    let io_available = std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "io"));
    if io_available {
        return;
    }
    let mut io = ocikit_types::runtime::BlockIo::default();
    io.weight = Some(100);
    r.block_io = Some(io);
    b.spec.linux.as_mut().unwrap().resources = Some(r);
    let (code, out) = run_in_layout(&b, "t-v2-blkio", layout);
    assert_eq!(code, 99, "{out}");
    assert!(
        out.contains("cgroup controller blkio is not available on this host (needed for blockIO)"),
        "{out}"
    );
}

fn v1_net_cls_and_net_prio() {
    if !root_or_skip() {
        return;
    }
    // This host has both controllers but mounts neither: mount them, in
    // the child's private mount namespace only.
    let cgroups = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
    let has = |c: &str| {
        cgroups
            .lines()
            .any(|l| l.split_whitespace().next() == Some(c))
    };
    if !has("net_cls") || !has("net_prio") {
        testkit::need::skip("kernel without net_cls/net_prio");
        return;
    }
    let dir = "/run/ocikit-test-net_cls,net_prio";
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/ocikit-test-net_cls,net_prio/net_cls.classid; \
         grep '^lo ' /sys/fs/cgroup/ocikit-test-net_cls,net_prio/net_prio.ifpriomap",
    ]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = ocikit_types::runtime::Resources::default();
    let mut n = ocikit_types::runtime::Network::default();
    n.class_id = Some(0x10_0001);
    let mut prio = ocikit_types::runtime::InterfacePriority::default();
    prio.name = "lo".into();
    prio.priority = 5;
    n.priorities = vec![prio];
    r.network = Some(n);
    linux.resources = Some(r);
    let (code, out) = run_in_layout(
        &b,
        "t-netcls",
        &format!("mkdir -p '{dir}' && mount -t cgroup -o net_cls,net_prio none '{dir}'"),
    );
    // Remove the engine's `ocikit` parent group so the hierarchy can go
    // away with its last mount; the kernel only destroys it at an unmount
    // that finds no child groups, dying ones included, hence the second
    // round.
    let _ = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "m() {{ mount -t cgroup -o net_cls,net_prio none '{dir}'; }}; \
             m && rmdir '{dir}/ocikit'; umount '{dir}'; sleep 0.2; m && umount '{dir}'"
        ))
        .status();
    let _ = std::fs::remove_dir(dir);
    assert_eq!((code, out.as_str()), (0, "1048577\nlo 5\n"), "{out}");
}
