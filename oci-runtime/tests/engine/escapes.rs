//! Regression tests for known container-runtime escapes, each reproduced
//! against ocikit as root, each checking that the host side is unchanged.
//!
//! Named after the runc advisories they follow: CVE-2019-5736 (overwriting
//! the runtime binary through /proc/<pid>/exe), CVE-2024-21626 (a leaked
//! host directory fd as cwd), CVE-2021-30465 (a symlink-exchange race on
//! a mount destination), CVE-2025-31133 / CVE-2025-52565 (a symlinked
//! /dev/null or /dev/console), CVE-2025-52881 (procfs writes redirected by
//! mounts) and a /dev symlink in the image.

use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ocikit_runtime::{CreateOptions, DeleteMode};
use ocikit_types::runtime::{Hook, Hooks, Mount, NamespaceType};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    (
        "escapes::cve_2019_5736_runtime_exe_not_writable",
        cve_2019_5736_runtime_exe_not_writable,
    ),
    (
        "escapes::cve_2024_21626_fd_cwd_stays_inside",
        cve_2024_21626_fd_cwd_stays_inside,
    ),
    (
        "escapes::cve_2021_30465_symlink_mount_destination",
        cve_2021_30465_symlink_mount_destination,
    ),
    (
        "escapes::cve_2021_30465_symlink_exchange_race",
        cve_2021_30465_symlink_exchange_race,
    ),
    (
        "escapes::cve_2025_31133_symlinked_dev_null_and_console",
        cve_2025_31133_symlinked_dev_null_and_console,
    ),
    (
        "escapes::cve_2025_52881_proc_writes_not_redirected",
        cve_2025_52881_proc_writes_not_redirected,
    ),
    (
        "escapes::cve_2026_41579_dev_symlink_in_image",
        cve_2026_41579_dev_symlink_in_image,
    ),
];

/// Mount points of the caller's mount namespace.
fn mount_points() -> BTreeSet<String> {
    mount_points_of(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
}

fn mount_points_of(mountinfo: &str) -> BTreeSet<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
        .collect()
}

/// Mounts that appeared in the host's mount namespace since `before`.
fn new_host_mounts(before: &BTreeSet<String>) -> Vec<String> {
    mount_points().difference(before).cloned().collect()
}

fn add_tools(b: &Bundle, tools: &[&str]) {
    for t in tools {
        let _ = symlink("busybox", b.path().join("rootfs/bin").join(t));
    }
}

/// Waits until `path` contains `needle` (or the timeout passes).
fn wait_for(path: &Path, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if s.contains(needle) || start.elapsed() > timeout {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CVE-2019-5736: while a runtime-controlled init is alive in a pid
/// namespace the attacker shares, the attacker opens its
/// /proc/<pid>/exe (the runtime binary on the host), keeps the descriptor
/// and, once the init has exec'd the user program (so the binary is no
/// longer "text busy"), reopens it for writing through /proc/self/fd/N.
/// runc's `exec` gave the attacker that window; ocikit has no `exec`, but
/// a second container joining the attacker's pid namespace gives the same
/// one (its init waits in `created` running the runtime binary).
///
/// The init program is a private copy of this test binary so that the
/// running test harness does not keep it busy (which would hide the bug
/// behind ETXTBSY). What protects it: the engine executes the init from a
/// read-only, detached bind mount of the binary (open_tree +
/// mount_setattr, no copy), so every /proc/<pid>/exe of an init names a
/// file on a read-only mount and opening it for writing fails with EROFS.
fn cve_2019_5736_runtime_exe_not_writable() {
    if !root_or_skip() {
        return;
    }
    let bin_dir = tempfile::tempdir().unwrap();
    let init_copy = bin_dir.path().join("ocikit-init-copy");
    std::fs::copy("/proc/self/exe", &init_copy).unwrap();
    let before = std::fs::read(&init_copy).unwrap();

    // The attacker: finds any process whose exe is not busybox, tries to
    // write it directly, keeps a descriptor, and keeps trying to reopen
    // that descriptor for writing after the init has gone.
    let script = r#"
        for f in /proc/self/exe /proc/1/exe; do
            echo x >> $f 2>/dev/null && echo "WROTE $f"
        done
        echo attacker-ready
        i=0
        while [ $i -lt 500 ]; do
            for d in /proc/[0-9]*; do
                [ -r $d/exe ] || continue
                exec 3< $d/exe 2>/dev/null || continue
                if ! cmp -s /proc/self/fd/3 /bin/busybox; then
                    echo "opened $d"
                    echo x >> $d/exe 2>/dev/null && echo "WROTE $d/exe"
                    j=0
                    while [ $j -lt 100 ]; do
                        if [ -e /tmp/go ] || [ $j -gt 0 ]; then
                            if echo PWNED 2>/tmp/err >> /proc/self/fd/3; then
                                echo "WROTE via fd"; exit 0
                            fi
                        fi
                        [ -e /tmp/go ] && j=$((j+1))
                        sleep 0.05
                    done
                    echo "blocked: $(cat /tmp/err)"; exit 0
                fi
                exec 3<&-
            done
            i=$((i+1))
            sleep 0.02
        done
        echo "never saw the init"
    "#;
    let mut a = Bundle::new(&["sh", "-c", script]);
    add_tools(&a, &["cmp", "sleep", "cat"]);
    a.spec.root.as_mut().unwrap().readonly = false;
    // The init is non-dumpable until it execs, which alone keeps an
    // ordinary container process out of its /proc/<pid>/exe. An attacker
    // with CAP_SYS_PTRACE gets past that; the read-only mount must hold.
    if let Some(caps) = a.spec.process.as_mut().unwrap().capabilities.as_mut() {
        for set in [&mut caps.bounding, &mut caps.effective, &mut caps.permitted] {
            set.push(ocikit_types::runtime::Capability::SysPtrace);
        }
    }
    a.write();
    let (o, a_out) = a.capture();
    let attacker = a.rt.create("t-5736-a", a.path(), o).unwrap();
    a.rt.start("t-5736-a").unwrap();
    let s = wait_for(&a_out, "attacker-ready", Duration::from_secs(10));
    assert!(!s.contains("WROTE"), "{s}");

    let mut b = Bundle::new(&["true"]);
    for ns in &mut b.spec.linux.as_mut().unwrap().namespaces {
        if ns.kind == NamespaceType::Pid {
            ns.path = format!("/proc/{}/ns/pid", attacker.pid());
        }
    }
    b.rt.set_init_program(&init_copy);
    b.write();
    b.rt.create("t-5736-b", b.path(), CreateOptions::new())
        .unwrap();
    let s = wait_for(&a_out, "opened", Duration::from_secs(15));
    // Let the victim go: its init execs `true`, the binary is no longer
    // busy, and the attacker tries again.
    b.rt.start("t-5736-b").unwrap();
    let _ = b.rt.wait("t-5736-b");
    std::fs::write(a.path().join("rootfs/tmp/go"), "").unwrap();
    let code = a.rt.wait("t-5736-a").unwrap().code();
    let out = std::fs::read_to_string(&a_out).unwrap();
    let after = std::fs::read(&init_copy).unwrap();
    assert!(before == after, "the runtime binary was modified: {out}");
    assert_eq!(code, 0, "{out}");
    assert!(
        s.contains("opened"),
        "the attacker never saw the init: {out}"
    );
    assert!(!out.contains("WROTE"), "{out}");
    assert!(out.contains("blocked:"), "{out}");
    println!("  attacker: {}", out.trim().replace('\n', " | "));
    let _ = a.rt.delete("t-5736-a", DeleteMode::Force);
    let _ = b.rt.delete("t-5736-b", DeleteMode::Force);
}

/// Opens `dir` without O_CLOEXEC, as a careless embedding program (or a
/// runtime bug, as runc's leaked cgroup fd) would.
fn leak_dir_fd(dir: &Path) -> OwnedFd {
    rustix::fs::open(
        dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap()
}

/// CVE-2024-21626: `process.cwd` = /proc/self/fd/N naming a host
/// directory the init still holds must not become the process's cwd.
/// The test leaks a host directory fd (holding a sentinel) into the
/// runtime process and tries every N in 3..=10 and the leaked one.
fn cve_2024_21626_fd_cwd_stays_inside() {
    if !root_or_skip() {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("sentinel"), "HOST SENTINEL\n").unwrap();
    // Several copies, so that some sit above the descriptors the engine
    // itself places at 3 and up.
    let leaked: Vec<OwnedFd> = (0..6).map(|_| leak_dir_fd(host.path())).collect();
    let mut ns: Vec<i32> = (3..=10).collect();
    for fd in &leaked {
        if !ns.contains(&fd.as_raw_fd()) {
            ns.push(fd.as_raw_fd());
        }
    }
    println!(
        "  leaked host directory fds: {:?}",
        leaked.iter().map(|f| f.as_raw_fd()).collect::<Vec<_>>()
    );
    for n in ns {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "pwd; cat sentinel ../sentinel ../../sentinel ../../../sentinel /proc/self/cwd/sentinel 2>/dev/null; \
             ls -l /proc/self/fd/",
        ]);
        b.spec.process.as_mut().unwrap().cwd = format!("/proc/self/fd/{n}");
        b.write();
        let (o, out) = b.capture();
        let id = format!("t-21626-{n}");
        match b.rt.run(&id, b.path(), o) {
            Err(e) => println!("  cwd /proc/self/fd/{n}: create refused: {e}"),
            Ok(_) => {
                let out = std::fs::read_to_string(out).unwrap();
                assert!(!out.contains("HOST SENTINEL"), "fd {n}: {out}");
                let pwd = out.lines().next().unwrap_or_default();
                assert!(
                    pwd.starts_with('/') && !pwd.contains("unreachable"),
                    "fd {n}: cwd outside the root: {out}"
                );
                // Only stdio, plus the directory ls itself is reading.
                for l in out.lines().filter(|l| l.contains(" -> ")) {
                    let (left, target) = l.split_once(" -> ").unwrap();
                    let fd: i32 = left.rsplit(' ').next().unwrap().parse().unwrap();
                    assert!(
                        fd <= 2 || target.starts_with("/proc/"),
                        "fd {n}: a host descriptor reached the process: {l}\n{out}"
                    );
                }
                println!("  cwd /proc/self/fd/{n}: ran with cwd {pwd}");
            }
        }
    }
    // A valid cwd: the created init (which a container sharing its pid
    // namespace could reach through /proc/<pid>/fd) holds none of the
    // leaked descriptors, and the user program sees only stdio.
    let b = Bundle::new(&["sh", "-c", "pwd; ls -l /proc/self/fd/"]);
    b.write();
    let (o, out) = b.capture();
    let c = b.rt.create("t-21626-ok", b.path(), o).unwrap();
    let init_fds: Vec<PathBuf> = std::fs::read_dir(format!("/proc/{}/fd", c.pid()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .collect();
    assert!(
        !init_fds.iter().any(|t| t.starts_with(host.path())),
        "the init holds a leaked host directory: {init_fds:?}"
    );
    b.rt.start("t-21626-ok").unwrap();
    assert_eq!(b.rt.wait("t-21626-ok").unwrap().code(), 0);
    let out = std::fs::read_to_string(out).unwrap();
    assert!(out.starts_with("/\n"), "{out}");
    let fds: Vec<(i32, &str)> = out
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .map(|(left, target)| (left.rsplit(' ').next().unwrap().parse().unwrap(), target))
        .collect();
    assert!(fds.len() >= 3, "{out}");
    for (fd, target) in fds {
        assert!(
            fd <= 2 || target.starts_with("/proc/"),
            "a host descriptor reached the process: {fd} -> {target}\n{out}"
        );
    }

    // A descriptor the caller preserves on purpose stays open in the init;
    // if it is a host directory, the cwd check must still refuse it.
    if leaked.iter().any(|f| f.as_raw_fd() == 3) {
        let mut b = Bundle::new(&["sh", "-c", "pwd; cat sentinel"]);
        b.spec.process.as_mut().unwrap().cwd = "/proc/self/fd/3".into();
        b.write();
        let (mut o, out) = b.capture();
        o.preserve_fds(1);
        match b.rt.run("t-21626-preserved", b.path(), o) {
            Err(e) => println!("  preserved fd 3 as cwd: create refused: {e}"),
            Ok(_) => {
                let out = std::fs::read_to_string(out).unwrap();
                panic!("a preserved host directory became the cwd: {out}");
            }
        }
    } else {
        println!("  (fd 3 was not a leaked directory: preserved-fd case not run)");
    }
    drop(leaked);
}

/// CVE-2021-30465, static part: a mount destination that is a symlink
/// to a host directory (absolute and with `..`) lands inside the rootfs.
fn cve_2021_30465_symlink_mount_destination() {
    if !root_or_skip() {
        return;
    }
    let target = tempfile::tempdir().unwrap();
    let before = mount_points();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep -c ' /mnt1 \\| /outside ' /proc/self/mountinfo; cat /mnt2/msg; ls /mnt1 | wc -l",
    ]);
    add_tools(&b, &["wc"]);
    let rootfs = b.path().join("rootfs");
    symlink(target.path(), rootfs.join("mnt1")).unwrap();
    symlink("../../../../../../outside", rootfs.join("mnt2")).unwrap();
    let src = b.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("msg"), "bound\n").unwrap();
    b.spec
        .mounts
        .push(Mount::new("/mnt1", "tmpfs", "tmpfs", &[]));
    b.spec.mounts.push(Mount::new(
        "/mnt2",
        "bind",
        src.to_str().unwrap(),
        &["rbind"],
    ));
    let (code, out) = b.run("t-30465");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("bound"), "the bind is visible inside: {out}");
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
    assert!(!Path::new("/outside").exists());
    assert!(rootfs
        .join(target.path().strip_prefix("/").unwrap())
        .is_dir());
    assert!(rootfs.join("outside").is_dir());
    assert_eq!(new_host_mounts(&before), Vec::<String>::new());

    // `mnt -> /`: the tmpfs can only cover the container's own root (so
    // the user program is gone and create fails, or it runs on an empty
    // root), never the host's /.
    let mut b = Bundle::new(&["true"]);
    let rootfs = b.path().join("rootfs");
    symlink("/", rootfs.join("mnt")).unwrap();
    b.spec
        .mounts
        .push(Mount::new("/mnt", "tmpfs", "tmpfs", &[]));
    b.write();
    match b.rt.run("t-30465-root", b.path(), CreateOptions::new()) {
        Ok(s) => println!("  mnt -> /: ran, exit {}", s.code()),
        Err(e) => println!("  mnt -> /: create failed cleanly: {e}"),
    }
    assert!(rootfs.join("bin/busybox").is_file());
    assert!(Path::new("/usr/bin/busybox").is_file());
    assert_eq!(new_host_mounts(&before), Vec::<String>::new());
}

/// CVE-2021-30465, racing part: a thread keeps exchanging a directory and
/// a symlink to a host directory at a mount destination while containers
/// are created. A createContainer hook (in the container's mount
/// namespace, before pivot_root) records the mounts there: none may lie
/// outside the rootfs.
fn cve_2021_30465_symlink_exchange_race() {
    if !root_or_skip() {
        return;
    }
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("host-file"), "host\n").unwrap();
    let host_before = mount_points();
    let mut b = Bundle::new(&["sh", "-c", "test -e /mnt/host-file && echo SAW-HOST; true"]);
    let rootfs = b.path().join("rootfs");
    let rootfs_str = std::fs::canonicalize(&rootfs)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    std::fs::create_dir(rootfs.join("mnt")).unwrap();
    symlink(target.path(), rootfs.join("mnt-link")).unwrap();
    b.spec
        .mounts
        .push(Mount::new("/mnt", "tmpfs", "tmpfs", &[]));
    let mi = b.path().join("mountinfo");
    let mut hooks = Hooks::default();
    let mut h = Hook::new("/bin/sh");
    h.args = vec![
        "sh".into(),
        "-c".into(),
        format!("cat /proc/self/mountinfo >> {}", mi.display()),
    ];
    hooks.create_container.push(h);
    b.spec.hooks = Some(hooks);
    b.write();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let stop = stop.clone();
        let rootfs = rootfs.clone();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    rootfs.join("mnt"),
                    rustix::fs::CWD,
                    rootfs.join("mnt-link"),
                    rustix::fs::RenameFlags::EXCHANGE,
                );
                swaps += 1;
            }
            swaps
        })
    };
    let mut failures = 0;
    let mut checked = 0;
    for i in 0..50 {
        let _ = std::fs::remove_file(&mi);
        let (o, out) = b.capture();
        let id = format!("t-30465-race-{i}");
        match b.rt.run(&id, b.path(), o) {
            Ok(_) => {
                let out = std::fs::read_to_string(out).unwrap();
                assert!(!out.contains("SAW-HOST"), "run {i}: {out}");
            }
            // A swap can make a step fail; that is fine, escaping is not.
            Err(_) => failures += 1,
        }
        let _ = b.rt.delete(&id, DeleteMode::Force);
        if let Ok(info) = std::fs::read_to_string(&mi) {
            checked += 1;
            let points = mount_points_of(&info);
            assert!(
                points.iter().any(|m| m.starts_with(&rootfs_str)),
                "run {i}: the hook saw no rootfs mounts: {info}"
            );
            for m in points {
                assert!(
                    host_before.contains(&m) || m.starts_with(&rootfs_str),
                    "run {i}: a mount outside the rootfs in the container: {m}"
                );
                assert!(
                    !m.starts_with(target.path().to_str().unwrap()),
                    "run {i}: {m}"
                );
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    println!(
        "  50 creates, {failures} failed cleanly, {swaps} swaps, {checked} mount tables checked"
    );
    assert_eq!(checked + failures, 50, "a run left no mount table to check");
    assert_eq!(
        std::fs::read_dir(target.path()).unwrap().count(),
        1,
        "the host directory was written"
    );
    assert_eq!(new_host_mounts(&host_before), Vec::<String>::new());
}

const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// CVE-2025-31133 / CVE-2025-52565: the image's /dev/null and
/// /dev/console are symlinks to /proc/sys/kernel/core_pattern (and to a
/// host-like file). Masked paths must still be masked with the real null
/// device (the engine binds the host's /dev/null before pivot_root, never
/// the image's), nothing may be written through the links, and the host
/// core_pattern stays as it was. Run with the image's own /dev (no tmpfs,
/// so the links are what the engine meets) and with a terminal.
fn cve_2025_31133_symlinked_dev_null_and_console() {
    if !root_or_skip() {
        return;
    }
    let core_before = std::fs::read_to_string(CORE_PATTERN).unwrap();
    let decoy_dir = tempfile::tempdir().unwrap();
    let decoy = decoy_dir.path().join("decoy");
    std::fs::write(&decoy, "untouched\n").unwrap();
    for (variant, dev_tmpfs) in [("tmpfs-dev", true), ("image-dev", false)] {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "for p in /proc/kcore /proc/timer_list /proc/keys /proc/sched_debug; do \
               [ -e $p ] && echo \"$p $(cat $p 2>/dev/null | wc -c) $(ls -l $p | cut -c1)\"; done; \
             echo '|/tmp/evil' > /proc/timer_list 2>&1; true",
        ]);
        add_tools(&b, &["wc", "cut"]);
        let dev = b.path().join("rootfs/dev");
        symlink(CORE_PATTERN, dev.join("null")).unwrap();
        symlink(CORE_PATTERN, dev.join("console")).unwrap();
        symlink(&decoy, dev.join("zero")).unwrap();
        symlink("pts/ptmx", dev.join("ptmx")).unwrap();
        if !dev_tmpfs {
            b.spec.mounts.retain(|m| m.destination != "/dev");
        }
        let (code, out) = b.run(&format!("t-31133-{variant}"));
        assert_eq!(code, 0, "{variant}: {out}");
        let masked: Vec<&str> = out.lines().filter(|l| l.starts_with("/proc/")).collect();
        assert!(!masked.is_empty(), "{variant}: {out}");
        for l in masked {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f[1], "0", "{variant}: a masked path is readable: {out}");
            assert_eq!(f[2], "c", "{variant}: not masked by a device: {out}");
        }
        assert_eq!(std::fs::read_to_string(CORE_PATTERN).unwrap(), core_before);
        assert_eq!(std::fs::read_to_string(&decoy).unwrap(), "untouched\n");
        if !dev_tmpfs {
            // The engine left the image's /dev/null alone.
            assert!(dev.join("null").is_symlink(), "{variant}");
        }
    }

    // With a terminal, through a console socket.
    let mut b = Bundle::new(&["sh", "-c", "echo hi > /dev/console; tty"]);
    let dev = b.path().join("rootfs/dev");
    symlink(CORE_PATTERN, dev.join("null")).unwrap();
    symlink(CORE_PATTERN, dev.join("console")).unwrap();
    symlink("pts/ptmx", dev.join("ptmx")).unwrap();
    b.spec.mounts.retain(|m| m.destination != "/dev");
    b.spec.process.as_mut().unwrap().terminal = true;
    b.write();
    let sock = b.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || {
        // Hold the master until the container is done, then drop it.
        let (conn, _) = listener.accept().unwrap();
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let mut name = [0u8; 128];
        let _ = rustix::net::recvmsg(
            &conn,
            &mut [std::io::IoSliceMut::new(&mut name)],
            &mut control,
            rustix::net::RecvFlags::empty(),
        );
        let fds: Vec<OwnedFd> = control
            .drain()
            .filter_map(|m| match m {
                rustix::net::RecvAncillaryMessage::ScmRights(fds) => Some(fds.collect::<Vec<_>>()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut out = Vec::new();
        if let Some(master) = fds.into_iter().next() {
            use std::io::Read;
            let _ = std::fs::File::from(master).read_to_end(&mut out);
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let mut o = CreateOptions::new();
    o.console_socket(&sock);
    match b.rt.create("t-52565", b.path(), o) {
        Ok(_) => {
            b.rt.start("t-52565").unwrap();
            let out = receiver.join().unwrap();
            let _ = b.rt.wait("t-52565");
            println!("  terminal: {}", out.trim().replace("\r\n", " | "));
            assert!(out.contains("/dev/pts/"), "{out}");
            let _ = b.rt.delete("t-52565", DeleteMode::Force);
        }
        Err(e) => {
            println!("  terminal: create refused: {e}");
            drop(receiver);
        }
    }
    assert_eq!(std::fs::read_to_string(CORE_PATTERN).unwrap(), core_before);
    assert!(dev.join("console").is_symlink());
}

fn nsenter_read(pid: u32, ns: &str, file: &str) -> Option<String> {
    let out = std::process::Command::new("nsenter")
        .arg(format!("--{ns}=/proc/{pid}/ns/{ns}"))
        .args(["cat", file])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// CVE-2025-52881: the config mounts decoys over the /proc files the
/// engine writes (sysctl, oom_score_adj) and a tmpfs over /proc/sys. The
/// engine writes through the procfs it opened before pivot_root, not the
/// container's, so the writes reach the real files: the decoys (host
/// files) are unchanged and the real values are set. Sysctl keys that
/// are paths, or not namespaced, are refused.
fn cve_2025_52881_proc_writes_not_redirected() {
    if !root_or_skip() {
        return;
    }
    let decoys = tempfile::Builder::new()
        .prefix("ocikit-decoy")
        .tempdir()
        .unwrap();
    let decoy = |name: &str| {
        let p = decoys.path().join(name);
        std::fs::write(&p, "decoy\n").unwrap();
        p.to_str().unwrap().to_owned()
    };
    let ttl_decoy = decoy("ttl");
    let oom_decoy = decoy("oom");
    let host_ttl = std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl").unwrap();
    let mut b = Bundle::new(&["true"]);
    b.spec.mounts.push(Mount::new(
        "/proc/sys/net/ipv4/ip_default_ttl",
        "bind",
        &ttl_decoy,
        &["bind"],
    ));
    b.spec.mounts.push(Mount::new(
        "/proc/self/oom_score_adj",
        "bind",
        &oom_decoy,
        &["bind"],
    ));
    b.spec
        .mounts
        .push(Mount::new("/proc/sys/kernel", "tmpfs", "tmpfs", &[]));
    b.spec.process.as_mut().unwrap().oom_score_adj = Some(321);
    let linux = b.spec.linux.as_mut().unwrap();
    linux
        .sysctl
        .insert("net.ipv4.ip_default_ttl".into(), "77".into());
    linux.readonly_paths.clear();
    b.write();
    match b.rt.create("t-52881", b.path(), CreateOptions::new()) {
        Err(e) => println!("  create refused: {e}"),
        Ok(c) => {
            let pid = c.pid();
            let oom = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
            assert_eq!(oom.trim(), "321", "oom_score_adj not set on the init");
            match nsenter_read(pid, "net", "/proc/sys/net/ipv4/ip_default_ttl") {
                Some(ttl) => assert_eq!(ttl, "77", "sysctl not set in the container"),
                None => println!("  (nsenter unavailable: sysctl value not checked)"),
            }
            b.rt.delete("t-52881", DeleteMode::Force).unwrap();
        }
    }
    assert_eq!(std::fs::read_to_string(&ttl_decoy).unwrap(), "decoy\n");
    assert_eq!(std::fs::read_to_string(&oom_decoy).unwrap(), "decoy\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_default_ttl").unwrap(),
        host_ttl
    );

    // A sysctl key that is a host path (no dots in it, so the dot-to-slash
    // translation keeps it) or a sysctl of no namespace the container has
    // (written to the host's kernel) must be refused. core_pattern is
    // "set" to its current value, so even a failure here changes nothing.
    let target = decoy("target");
    let core = std::fs::read_to_string(CORE_PATTERN).unwrap();
    for (key, value) in [
        (target.clone(), "PWNED".to_owned()),
        ("kernel.core_pattern".to_owned(), core.trim_end().to_owned()),
        ("net/../../../..".to_owned() + &target, "PWNED".to_owned()),
    ] {
        let mut b = Bundle::new(&["true"]);
        b.spec
            .linux
            .as_mut()
            .unwrap()
            .sysctl
            .insert(key.clone(), value);
        b.write();
        let r = b.rt.create("t-52881-key", b.path(), CreateOptions::new());
        let _ = b.rt.delete("t-52881-key", DeleteMode::Force);
        assert!(r.is_err(), "sysctl {key:?} was accepted");
        println!("  sysctl {key:?}: {}", r.unwrap_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "decoy\n");
        assert_eq!(std::fs::read_to_string(CORE_PATTERN).unwrap(), core);
    }
}

/// A /dev symlink in the image (`dev -> <host dir>` and `dev -> ../..`):
/// the /dev tmpfs and the device nodes go inside the rootfs, never into
/// the host directory, and the container still gets working devices.
fn cve_2026_41579_dev_symlink_in_image() {
    if !root_or_skip() {
        return;
    }
    let host_dir = tempfile::tempdir().unwrap();
    let before = mount_points();
    let outside = PathBuf::from(host_dir.path()).join("outside");
    std::fs::create_dir(&outside).unwrap();
    for (variant, link) in [
        ("absolute", host_dir.path().to_str().unwrap().to_owned()),
        (
            "relative",
            format!("../../../../../../..{}", outside.display()),
        ),
    ] {
        let b = Bundle::new(&[
            "sh",
            "-c",
            "echo x > /dev/null && echo null-ok; ls /dev/ | grep -c urandom",
        ]);
        add_tools(&b, &["grep"]);
        let dev = b.path().join("rootfs/dev");
        std::fs::remove_dir(&dev).unwrap();
        symlink(&link, &dev).unwrap();
        let (code, out) = b.run(&format!("t-dev-link-{variant}"));
        assert_eq!(code, 0, "{variant}: {out}");
        assert!(out.contains("null-ok"), "{variant}: {out}");
        let entries: Vec<_> = std::fs::read_dir(host_dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["outside"], "{variant}: devices on the host");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{variant}");
        assert!(dev.is_symlink(), "{variant}");
    }
    assert_eq!(new_host_mounts(&before), Vec::<String>::new());
}
