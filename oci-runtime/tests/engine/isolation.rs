//! What the process sees inside: hostname, ids, env, cwd, read-only root,
//! masked paths, namespaces.

use ocikit_runtime::{CreateOptions, RootEntry};
use ocikit_types::runtime::{IdMapping, Mount, Namespace, NamespaceType, User};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("isolation::hostname", hostname),
    ("isolation::network_namespace", network_namespace),
    ("isolation::uid_gid_groups", uid_gid_groups),
    ("isolation::env_and_cwd", env_and_cwd),
    ("isolation::readonly_root", readonly_root),
    (
        "isolation::masked_and_readonly_paths",
        masked_and_readonly_paths,
    ),
    (
        "isolation::pid_namespace_and_devices",
        pid_namespace_and_devices,
    ),
    (
        "isolation::bind_mount_and_no_pivot",
        bind_mount_and_no_pivot,
    ),
    ("isolation::user_namespace", user_namespace),
    (
        "isolation::rootfs_symlink_cannot_escape",
        rootfs_symlink_cannot_escape,
    ),
    (
        "isolation::capabilities_nnp_oom_sysctl",
        capabilities_nnp_oom_sysctl,
    ),
    ("isolation::join_namespace_by_path", join_namespace_by_path),
];

fn hostname() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["hostname"]);
    b.spec.hostname = "box-42".into();
    let (code, out) = b.run("t-hostname");
    assert_eq!((code, out.as_str()), (0, "box-42\n"));
}

fn uid_gid_groups() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "id -u; id -g; id -G; umask"]);
    let mut u = User::new(1000, 1001);
    u.additional_gids = vec![1001, 2000];
    u.umask = Some(0o027);
    b.spec.process.as_mut().unwrap().user = Some(u);
    let (code, out) = b.run("t-ids");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "1000\n1001\n1001 2000\n0027\n");
}

fn env_and_cwd() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "echo $GREETING; pwd"]);
    std::fs::create_dir_all(b.path().join("rootfs/work/dir")).unwrap();
    let p = b.spec.process.as_mut().unwrap();
    p.env.push("GREETING=hello world".into());
    p.cwd = "/work/dir".into();
    let (code, out) = b.run("t-env");
    assert_eq!((code, out.as_str()), (0, "hello world\n/work/dir\n"));
}

fn readonly_root() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&[
        "sh",
        "-c",
        "touch /bin/x && echo wrote; touch /dev/shm/ok && echo tmpfs-ok",
    ]);
    assert!(b.spec.root.as_ref().unwrap().readonly);
    let (_, out) = b.run("t-ro");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("wrote"), "{out}");
    assert!(out.contains("tmpfs-ok"), "{out}");
    assert!(!b.path().join("rootfs/bin/x").exists());

    let mut b = Bundle::new(&["sh", "-c", "touch /bin/x && echo wrote"]);
    b.spec.root.as_mut().unwrap().readonly = false;
    let (code, out) = b.run("t-rw");
    assert_eq!((code, out.as_str()), (0, "wrote\n"));
}

fn masked_and_readonly_paths() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /secret/file; cat /etc/hidden; ls /secret | wc -l; echo 1 > /proc/sys/kernel/domainname || echo ro-ok; echo $(cat /proc/kcore | wc -c)",
    ]);
    std::fs::create_dir_all(b.path().join("rootfs/secret")).unwrap();
    std::fs::write(b.path().join("rootfs/secret/file"), "TOP SECRET").unwrap();
    std::fs::write(b.path().join("rootfs/etc/hidden"), "HIDDEN").unwrap();
    let linux = b.spec.linux.as_mut().unwrap();
    linux.masked_paths.push("/secret".into());
    linux.masked_paths.push("/etc/hidden".into());
    linux.masked_paths.push("/does/not/exist".into());
    let (_, out) = b.run("t-mask");
    assert!(
        !out.contains("TOP SECRET") && !out.contains("HIDDEN"),
        "{out}"
    );
    assert!(out.contains("ro-ok"), "{out}");
    assert!(
        out.lines().any(|l| l.trim() == "0"),
        "kcore masked and /secret empty: {out}"
    );
}

/// A new network namespace (which the init makes while it sets up the
/// rootfs): only `lo` in it, in sysfs too; its sysctls and links are the
/// container's; owned by the container's user namespace when it has one.
fn network_namespace() {
    if !root_or_skip() {
        return;
    }
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    for userns in [false, true] {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "readlink /proc/self/ns/net; ls /sys/class/net; cat /proc/sys/net/ipv4/ip_forward; \
             busybox ip link set lo up && cat /sys/class/net/lo/operstate",
        ]);
        let linux = b.spec.linux.as_mut().unwrap();
        assert!(linux
            .namespaces
            .iter()
            .any(|n| n.kind == NamespaceType::Network));
        linux
            .sysctl
            .insert("net.ipv4.ip_forward".into(), "1".into());
        if userns {
            linux.namespaces.push(Namespace::new(NamespaceType::User));
            linux.uid_mappings = vec![IdMapping::new(0, 100000, 65536)];
            linux.gid_mappings = vec![IdMapping::new(0, 100000, 65536)];
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        b.grant(ocikit_types::runtime::Capability::NetAdmin);
        let id = if userns { "t-netns-user" } else { "t-netns" };
        let (code, out) = b.run(id);
        assert_eq!(code, 0, "{id}: {out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_ne!(lines[0], host_ns.to_str().unwrap(), "{id}: {out}");
        assert_eq!(&lines[1..], ["lo", "1", "unknown"], "{id}: {out}");
    }
    let after = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(after, host_forward, "the host's sysctl changed");
}

fn pid_namespace_and_devices() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&[
        "sh",
        "-c",
        "echo $$; ls /dev; echo x > /dev/null && echo null-ok; test -L /dev/ptmx && echo ptmx; \
         ls -l /dev/null /dev/urandom",
    ]);
    let (code, out) = b.run("t-pidns");
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "{out}");
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "fd", "stdin",
        "stdout", "stderr",
    ] {
        assert!(lines.contains(&dev), "/dev/{dev} in {out}");
    }
    assert!(out.contains("null-ok") && out.contains("ptmx"), "{out}");
    let modes: Vec<&str> = lines
        .iter()
        .rev()
        .take(2)
        .map(|l| l.get(..10).unwrap_or(l))
        .collect();
    assert_eq!(modes, ["crw-rw-rw-", "crw-rw-rw-"], "{out}");
}

fn bind_mount_and_no_pivot() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "cat /data/msg; touch /data/new || echo ro-bind"]);
    let host = b.path().join("hostdata");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("msg"), "from host\n").unwrap();
    b.spec.mounts.push(Mount::new(
        "/data",
        "bind",
        host.to_str().unwrap(),
        &["rbind", "ro"],
    ));
    b.write();
    let (mut o, out) = b.capture();
    o.root_entry(RootEntry::MoveRoot);
    let status = b.rt.run("t-bind", b.path(), o).unwrap();
    let out = std::fs::read_to_string(out).unwrap();
    assert_eq!(status.code(), 0, "{out}");
    assert!(
        out.starts_with("from host\n") && out.contains("ro-bind"),
        "{out}"
    );
    assert!(!host.join("new").exists());
}

fn user_namespace() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "id -u; cat /proc/self/uid_map"]);
    let linux = b.spec.linux.as_mut().unwrap();
    linux.namespaces.push(Namespace::new(NamespaceType::User));
    linux.uid_mappings = vec![IdMapping::new(0, 100000, 65536)];
    linux.gid_mappings = vec![IdMapping::new(0, 100000, 65536)];
    // Host root is unmapped in the container: it needs to traverse the
    // bundle directory (a 0700 temp dir) like any other user.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out) = b.run("t-userns");
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"], "{out}");
}

fn rootfs_symlink_cannot_escape() {
    if !root_or_skip() {
        return;
    }
    // A hostile rootfs points a mount destination at the host's /tmp; the
    // tmpfs must land inside the rootfs instead.
    let marker = tempfile::tempdir().unwrap();
    let mut b = Bundle::new(&["true"]);
    std::os::unix::fs::symlink(marker.path(), b.path().join("rootfs/escape")).unwrap();
    b.spec
        .mounts
        .push(Mount::new("/escape", "tmpfs", "tmpfs", &[]));
    let (code, _) = b.run("t-escape");
    assert_eq!(code, 0);
    let _ = CreateOptions::new();
    // The host directory was not mounted over (still empty, no tmpfs).
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(marker.path().to_str().unwrap()));
    assert!(b
        .path()
        .join("rootfs")
        .join(marker.path().strip_prefix("/").unwrap())
        .exists());
}

fn capabilities_nnp_oom_sysctl() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep -E '^(CapEff|CapPrm|CapBnd|CapInh|CapAmb|NoNewPrivs)' /proc/self/status; \
         cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_default_ttl",
    ]);
    std::os::unix::fs::symlink("busybox", b.path().join("rootfs/bin/grep")).ok();
    b.spec.process.as_mut().unwrap().oom_score_adj = Some(500);
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .sysctl
        .insert("net.ipv4.ip_default_ttl".into(), "42".into());
    let (code, out) = b.run("t-caps");
    assert_eq!(code, 0, "{out}");
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{name} in {out}"))
    };
    // runc's defaults: CAP_AUDIT_WRITE (29), CAP_KILL (5),
    // CAP_NET_BIND_SERVICE (10).
    let want = format!("{:016x}", (1u64 << 29) | (1 << 5) | (1 << 10));
    assert_eq!(field("CapEff:"), want);
    assert_eq!(field("CapPrm:"), want);
    assert_eq!(field("CapBnd:"), want);
    assert_eq!(field("CapInh:"), "0000000000000000");
    assert_eq!(field("CapAmb:"), "0000000000000000");
    assert_eq!(field("NoNewPrivs:"), "1");
    let tail: Vec<&str> = out.lines().rev().take(2).collect();
    assert_eq!(tail, ["42", "500"], "{out}");
    let host_ttl = std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl").unwrap();
    assert_ne!(host_ttl.trim(), "42", "the sysctl leaked to the host");
}

fn join_namespace_by_path() {
    if !root_or_skip() {
        return;
    }
    let mut a = Bundle::new(&["sleep", "100"]);
    a.spec.hostname = "first".into();
    a.write();
    let first =
        a.rt.create("t-join-a", a.path(), CreateOptions::new())
            .unwrap();
    let mut b = Bundle::new(&["hostname"]);
    b.spec.hostname = String::new();
    for ns in &mut b.spec.linux.as_mut().unwrap().namespaces {
        if ns.kind == NamespaceType::Uts {
            ns.path = format!("/proc/{}/ns/uts", first.pid());
        }
    }
    let (code, out) = b.run("t-join-b");
    assert_eq!((code, out.as_str()), (0, "first\n"));
    a.rt.delete("t-join-a", ocikit_runtime::DeleteMode::Force)
        .unwrap();
}
