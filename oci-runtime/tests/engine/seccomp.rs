//! `linux.seccomp` in real containers: errno rules, argument conditions,
//! allow lists, kill actions and a notify listener.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::unix::net::UnixListener;

use ocikit_types::runtime::{
    Seccomp, SeccompAction, SeccompArch, SeccompOperator, Syscall, SyscallArg,
};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("seccomp::errno_rule_denies_mkdir", errno_rule_denies_mkdir),
    ("seccomp::argument_condition", argument_condition),
    (
        "seccomp::default_errno_allow_list",
        default_errno_allow_list,
    ),
    ("seccomp::kill_is_sigsys", kill_is_sigsys),
    ("seccomp::notify_listener_gets_fd", notify_listener_gets_fd),
    (
        "seccomp::i386_program_is_filtered",
        i386_program_is_filtered,
    ),
    ("seccomp::x32_program_is_filtered", x32_program_is_filtered),
    (
        "seccomp::issue_14_podman_default_profile",
        issue_14_podman_default_profile,
    ),
];

fn rule(names: &[&str], action: SeccompAction) -> Syscall {
    Syscall::new(names.iter().map(|s| s.to_string()).collect(), action)
}

fn set_profile(b: &mut Bundle, profile: Seccomp) {
    b.spec.linux.as_mut().unwrap().seccomp = Some(profile);
}

/// Default allow, mkdir/mkdirat -> EPERM; installed before the
/// capabilities are dropped (noNewPrivileges false).
fn errno_rule_denies_mkdir() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "echo hello; busybox mkdir /tmp/x; echo rc=$?"]);
    b.spec.process.as_mut().unwrap().no_new_privileges = false;
    // A writable root, so only seccomp can stop the mkdir.
    b.spec.root.as_mut().unwrap().readonly = false;
    let mut p = Seccomp::new(SeccompAction::Allow);
    let mut r = rule(&["mkdir", "mkdirat"], SeccompAction::Errno);
    r.errno_ret = Some(1);
    p.syscalls.push(r);
    set_profile(&mut b, p);
    let (code, out) = b.run("t-sc-errno");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("hello\n"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.ends_with("rc=1\n"), "{out}");
    assert!(!b.path().join("rootfs/tmp/x").exists());

    // The same container without the profile creates the directory.
    let mut b2 = Bundle::new(&["busybox", "mkdir", "/tmp/x"]);
    b2.spec.root.as_mut().unwrap().readonly = false;
    let (code, out) = b2.run("t-sc-errno2");
    assert_eq!(code, 0, "{out}");
    assert!(b2.path().join("rootfs/tmp/x").is_dir());
}

/// personality(2) is denied only when arg0 == PER_LINUX32 (8): linux32
/// fails with EACCES, linux64 (arg0 0) runs.
fn argument_condition() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "busybox linux64 true; echo linux64=$?; busybox linux32 true; echo linux32=$?",
    ]);
    let mut p = Seccomp::new(SeccompAction::Allow);
    let mut r = rule(&["personality"], SeccompAction::Errno);
    r.errno_ret = Some(13);
    r.args = vec![SyscallArg::new(0, 8, SeccompOperator::Equal)];
    p.syscalls.push(r);
    set_profile(&mut b, p);
    let (code, out) = b.run("t-sc-arg");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("linux64=0\n"), "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    assert!(out.contains("linux32=1\n"), "{out}");
}

/// The syscalls busybox sh needs to run `echo` and fork an applet.
const BUSYBOX_SH: &[&str] = &[
    "read",
    "write",
    "open",
    "openat",
    "close",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "poll",
    "lseek",
    "mmap",
    "mprotect",
    "munmap",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "ioctl",
    "pread64",
    "readv",
    "writev",
    "access",
    "faccessat",
    "faccessat2",
    "pipe",
    "pipe2",
    "dup",
    "dup2",
    "dup3",
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "gettid",
    "execve",
    "exit",
    "exit_group",
    "wait4",
    "fcntl",
    "getcwd",
    "chdir",
    "uname",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "prlimit64",
    "getrandom",
    "rseq",
    "futex",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "sigaltstack",
    "readlink",
    "readlinkat",
    "getdents64",
    "prctl",
    "kill",
    "tgkill",
    "getpgrp",
    "setpgid",
    "getpgid",
    "sysinfo",
    "umask",
    "madvise",
];

/// Default SCMP_ACT_ERRNO with an allow list: sh runs, anything else
/// (mkdir) fails with EPERM. Installed last, after no_new_privs.
fn default_errno_allow_list() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "echo works; busybox mkdir /tmp/y; echo rc=$?"]);
    assert!(b.spec.process.as_ref().unwrap().no_new_privileges);
    let mut p = Seccomp::new(SeccompAction::Errno);
    p.syscalls.push(rule(BUSYBOX_SH, SeccompAction::Allow));
    set_profile(&mut b, p);
    let (code, out) = b.run("t-sc-allow");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("works\n"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.ends_with("rc=1\n"), "{out}");
}

/// SCMP_ACT_KILL (a thread) and SCMP_ACT_KILL_PROCESS on sethostname:
/// the process dies by SIGSYS, status 159.
fn kill_is_sigsys() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "hostname other; echo status=$?"]);
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.syscalls.push(rule(&["sethostname"], SeccompAction::Kill));
    set_profile(&mut b, p);
    let (code, out) = b.run("t-sc-kill");
    assert_eq!(code, 0, "{out}");
    // sh names the signal, then reports 128 + SIGSYS.
    assert!(out.ends_with("status=159\n"), "{out}");

    let mut b = Bundle::new(&["hostname", "other"]);
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.syscalls
        .push(rule(&["sethostname"], SeccompAction::KillProcess));
    set_profile(&mut b, p);
    let (code, out) = b.run("t-sc-killproc");
    assert_eq!((code, out.as_str()), (159, ""));
}

/// SCMP_ACT_NOTIFY: the listener socket receives the notify descriptor
/// (SCM_RIGHTS) and the container process state; once the agent closes
/// the descriptor the notified syscall fails with ENOSYS.
fn notify_listener_gets_fd() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "busybox mkdir /tmp/z; echo rc=$?"]);
    let sock = b.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.listener_path = sock.display().to_string();
    p.listener_metadata = "meta-data".into();
    p.syscalls
        .push(rule(&["mkdir", "mkdirat"], SeccompAction::Notify));
    set_profile(&mut b, p);
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let msg = rustix::net::recvmsg(
            &conn,
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            RecvFlags::empty(),
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&buf[..msg.bytes]).unwrap();
        let mut fds = Vec::new();
        for m in control.drain() {
            if let RecvAncillaryMessage::ScmRights(r) = m {
                fds.extend(r);
            }
        }
        let target = fds.first().map(|fd| {
            std::fs::read_link(format!(
                "/proc/self/fd/{}",
                rustix::fd::AsRawFd::as_raw_fd(fd)
            ))
            .unwrap()
        });
        // Closing the listener makes the blocked mkdir fail with ENOSYS.
        drop(fds);
        (json, target)
    });
    let (code, out) = b.run("t-sc-notify");
    let (json, target) = agent.join().unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Function not implemented"), "{out}");
    assert!(out.ends_with("rc=1\n"), "{out}");
    assert_eq!(json["fds"], serde_json::json!(["seccompFd"]), "{json}");
    assert_eq!(json["metadata"], "meta-data", "{json}");
    assert_eq!(json["state"]["id"], "t-sc-notify", "{json}");
    assert!(json["pid"].as_u64().is_some_and(|p| p > 0), "{json}");
    assert!(json["ociVersion"].is_string(), "{json}");
    let target = target.expect("a descriptor arrived").display().to_string();
    assert!(target.contains("seccomp notify"), "{target}");
}

/// A program for a 32-bit ABI: mkdir("/tmp/x"), then its result on
/// stdout. With `probe` as argument it only writes "probe", to check that
/// the host runs the ABI at all.
const PROGRAM_32: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char buf[128];
    int n;
    if (argc > 1 && strcmp(argv[1], "probe") == 0) {
        n = snprintf(buf, sizeof buf, "probe\n");
    } else {
        int rc = mkdir("/tmp/x", 0755);
        int e = rc == 0 ? 0 : errno;
        n = snprintf(buf, sizeof buf, "mkdir=%d errno=%d\n", rc, e);
    }
    return write(1, buf, n) == n ? 0 : 1;
}
"#;

/// Why a 32-bit program cannot be tested here.
enum Unable {
    /// The toolchain is missing (gcc-multilib): fails under CI=true.
    Toolchain(String),
    /// The kernel does not run the ABI: a host feature, always a skip.
    Kernel(String),
}

/// Builds [`PROGRAM_32`] into `dest` with `gcc <flag> -static` and runs
/// its probe on the host.
fn build_program_32(flag: &str, dest: &std::path::Path) -> Result<(), Unable> {
    let src = dest.with_extension("c");
    std::fs::write(&src, PROGRAM_32).unwrap();
    let out = std::process::Command::new("gcc")
        .args([flag, "-static", "-O1", "-o"])
        .arg(dest)
        .arg(&src)
        .output()
        .map_err(|e| Unable::Toolchain(format!("cannot run gcc: {e}")))?;
    if !out.status.success() {
        return Err(Unable::Toolchain(format!(
            "gcc {flag} -static failed (install gcc-multilib): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let probe = std::process::Command::new(dest)
        .arg("probe")
        .output()
        .map_err(|e| {
            Unable::Kernel(format!("this kernel does not run gcc {flag} programs: {e}"))
        })?;
    if probe.stdout != b"probe\n" {
        return Err(Unable::Kernel(format!(
            "the gcc {flag} probe printed {:?}",
            String::from_utf8_lossy(&probe.stdout)
        )));
    }
    Ok(())
}

/// A bundle running `/prog`, built with `gcc <flag>`, under a profile
/// listing `archs` with mkdir/mkdirat -> EPERM; `None` (the test is
/// reported ignored) when the program cannot be built or run here.
fn bundle_32(test: &str, flag: &str, archs: Vec<SeccompArch>) -> Option<Bundle> {
    let mut b = Bundle::new(&["/prog"]);
    // A writable root, so only seccomp can stop the mkdir.
    b.spec.root.as_mut().unwrap().readonly = false;
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.architectures = archs;
    let mut r = rule(&["mkdir", "mkdirat"], SeccompAction::Errno);
    r.errno_ret = Some(1);
    p.syscalls.push(r);
    set_profile(&mut b, p);
    match build_program_32(flag, &b.path().join("rootfs/prog")) {
        Ok(()) => return Some(b),
        Err(Unable::Toolchain(why)) => testkit::need::missing(format!("{test}: {why}")),
        Err(Unable::Kernel(why)) => testkit::need::skip(why),
    };
    None
}

/// A real i386 program under a profile listing x86_64, x86 and x32
/// (Docker's and podman's shape): mkdir fails with EPERM from the i386
/// rules and the program runs on. With x86_64 alone listed, its first
/// syscall kills it (SIGSYS).
fn i386_program_is_filtered() {
    filtered_32("i386_program_is_filtered", "-m32", SeccompArch::X86);
}

/// As [`i386_program_is_filtered`] for an x32 program (skipped on the
/// many kernels that leave x32 disabled).
fn x32_program_is_filtered() {
    filtered_32("x32_program_is_filtered", "-mx32", SeccompArch::X32);
}

fn filtered_32(test: &str, flag: &str, arch: SeccompArch) {
    if !root_or_skip() {
        return;
    }
    let all = vec![SeccompArch::X86_64, SeccompArch::X86, SeccompArch::X32];
    let Some(b) = bundle_32(test, flag, all.clone()) else {
        return;
    };
    let (code, out) = b.run("t-sc-32");
    assert_eq!((code, out.as_str()), (0, "mkdir=-1 errno=1\n"), "{arch}");
    assert!(!b.path().join("rootfs/tmp/x").exists());

    // Without the profile's entry for the ABI (the other two listed, or
    // x86_64 alone), its first syscall is killed.
    let others = all.into_iter().filter(|a| *a != arch).collect();
    for archs in [others, vec![SeccompArch::X86_64]] {
        let b2 = bundle_32(test, flag, archs.clone()).unwrap();
        let (code, out) = b2.run("t-sc-32-kill");
        assert_eq!((code, out.as_str()), (159, ""), "{arch} not in {archs:?}");
        assert!(!b2.path().join("rootfs/tmp/x").exists());
    }

    // And with no profile, the program creates the directory.
    let mut b3 = bundle_32(test, flag, vec![]).unwrap();
    b3.spec.linux.as_mut().unwrap().seccomp = None;
    let (code, out) = b3.run("t-sc-32-none");
    assert_eq!((code, out.as_str()), (0, "mkdir=0 errno=0\n"), "{arch}");
    assert!(b3.path().join("rootfs/tmp/x").is_dir());
}

/// podman's default profile (containers-common, Debian's podman).
const PODMAN_PROFILE: &str = "/usr/share/containers/seccomp.json";

/// The runtime-spec profile podman makes of its `seccomp.json` for the
/// `archMap` entry of `arch` (the entry's architectures), for a container
/// with none of the capabilities the rules mention: rules needing a
/// capability are left out, rules excluded by one are kept, and rules
/// limited to Go architectures other than the entry's and this host's
/// (amd64: the engine always filters the native ABI too) are left out.
fn podman_profile(doc: &serde_json::Value, entry: &serde_json::Value) -> Seccomp {
    let native = entry["architecture"].as_str().unwrap();
    let goarch = match native {
        "SCMP_ARCH_X86_64" => "amd64",
        "SCMP_ARCH_AARCH64" => "arm64",
        "SCMP_ARCH_MIPS64" => "mips64",
        "SCMP_ARCH_MIPS64N32" => "mips64n32",
        "SCMP_ARCH_MIPSEL64" => "mips64le",
        "SCMP_ARCH_MIPSEL64N32" => "mips64len32",
        "SCMP_ARCH_S390X" => "s390x",
        other => other,
    };
    let mut archs = vec![serde_json::Value::from(native)];
    archs.extend(
        entry["subArchitectures"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    let mut syscalls = Vec::new();
    for rule in doc["syscalls"].as_array().unwrap() {
        let listed = |side: &str, key: &str| {
            rule.get(side)
                .and_then(|v| v.get(key))
                .and_then(|v| v.as_array())
                .filter(|v| !v.is_empty())
                .cloned()
        };
        if listed("includes", "caps").is_some() {
            continue;
        }
        if let Some(arches) = listed("includes", "arches") {
            if !arches.iter().any(|a| a == goarch || a == "amd64") {
                continue;
            }
        }
        if let Some(arches) = listed("excludes", "arches") {
            if arches.iter().any(|a| a == goarch || a == "amd64") {
                continue;
            }
        }
        let mut r = serde_json::Map::new();
        for key in ["names", "action", "errnoRet", "args"] {
            if let Some(v) = rule.get(key).filter(|v| !v.is_null()) {
                r.insert(key.to_string(), v.clone());
            }
        }
        syscalls.push(serde_json::Value::Object(r));
    }
    let profile = serde_json::json!({
        "defaultAction": doc["defaultAction"],
        "defaultErrnoRet": doc["defaultErrnoRet"],
        "architectures": archs,
        "syscalls": syscalls,
    });
    serde_json::from_value(profile).unwrap()
}

/// Issue 14: podman's default profile compiles for every architecture its
/// `archMap` lists (a container runs under each entry's profile), a
/// shell prints ok under it, and a call it denies (chroot without
/// CAP_SYS_CHROOT) gets EPERM.
fn issue_14_podman_default_profile() {
    if !root_or_skip() {
        return;
    }
    let Ok(text) = std::fs::read_to_string(PODMAN_PROFILE) else {
        testkit::need::missing(format!("{PODMAN_PROFILE} (Debian's podman)"));
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = doc["archMap"].as_array().unwrap();
    assert!(entries.len() >= 2, "{entries:?}");
    for (i, entry) in entries.iter().enumerate() {
        let profile = podman_profile(&doc, entry);
        assert!(profile.syscalls.len() > 20, "{entry}");
        let mut b = Bundle::new(&["sh", "-c", "echo ok"]);
        set_profile(&mut b, profile);
        let (code, out) = b.run(&format!("t-sc-podman{i}"));
        assert_eq!((code, out.as_str()), (0, "ok\n"), "{entry}");
    }

    let x86 = entries
        .iter()
        .find(|e| e["architecture"] == "SCMP_ARCH_X86_64")
        .unwrap();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "echo ok; busybox chroot / /bin/true; echo rc=$?",
    ]);
    set_profile(&mut b, podman_profile(&doc, x86));
    let (code, out) = b.run("t-sc-podman-chroot");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok\n"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.ends_with("rc=1\n"), "{out}");
}
