use super::check::check_spec;
use super::namespace::namespace_plan;
use super::options::ExitStatus;
use super::spawn::{sealed_copy, sealed_program};
use super::Runtime;
use ocikit_types::runtime::{Namespace, NamespaceType, Spec};
use ocikit_types::Document;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

fn spec() -> Spec {
    let mut s = Spec::default_linux();
    s.process.as_mut().unwrap().terminal = false;
    s
}

#[test]
fn features_document_is_valid_and_honest() {
    let f = Runtime::features();
    f.validate().unwrap();
    let linux = f.linux.as_ref().unwrap();
    let seccomp = linux.seccomp.as_ref().unwrap();
    assert_eq!(seccomp.enabled, Some(true));
    assert_eq!(seccomp.actions.as_ref().unwrap().len(), 9);
    assert_eq!(seccomp.operators.as_ref().unwrap().len(), 7);
    // Issue 14: every architecture the engine has tables for.
    let archs: Vec<String> = seccomp
        .archs
        .as_ref()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    for arch in [
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_LOONGARCH64",
    ] {
        assert!(archs.iter().any(|a| a == arch), "{arch} in {archs:?}");
    }
    assert_eq!(archs.len(), 18, "{archs:?}");
    // Kernel 6.18 (HOST.md) knows every flag.
    assert_eq!(seccomp.supported_flags, seccomp.known_flags);
    assert_eq!(linux.cgroup.as_ref().unwrap().systemd, Some(false));
    assert_eq!(
        linux.extra["memoryPolicy"]["modes"][0],
        serde_json::json!("MPOL_DEFAULT")
    );
    let ns = linux.namespaces.as_ref().unwrap();
    assert!(ns.contains(&NamespaceType::Time));
    let idmap = linux.mount_extensions.as_ref().unwrap().idmap.as_ref();
    assert_eq!(idmap.unwrap().enabled, Some(true));
    assert_eq!(linux.net_devices.as_ref().unwrap().enabled, Some(true));
    assert!(f
        .mount_options
        .as_ref()
        .unwrap()
        .contains(&"rbind".to_owned()));
}

#[test]
fn config_checks() {
    check_spec(&spec(), false).unwrap();

    let e = check_spec(&Spec::default_linux(), false).unwrap_err();
    assert!(e.to_string().contains("console socket"), "{e}");
    let e = check_spec(&spec(), true).unwrap_err();
    assert!(e.to_string().contains("terminal true"), "{e}");

    let mut s = spec();
    s.linux
        .as_mut()
        .unwrap()
        .namespaces
        .retain(|n| n.kind != NamespaceType::Mount);
    // No mount namespace: the container runs in the runtime's (issue 20).
    check_spec(&s, false).unwrap();

    let mut s = spec();
    s.linux
        .as_mut()
        .unwrap()
        .namespaces
        .retain(|n| n.kind != NamespaceType::Uts);
    assert!(check_spec(&s, false)
        .unwrap_err()
        .to_string()
        .contains("uts namespace"));

    let mut s = spec();
    s.linux
        .as_mut()
        .unwrap()
        .namespaces
        .push(Namespace::new(NamespaceType::User));
    assert!(check_spec(&s, false)
        .unwrap_err()
        .to_string()
        .contains("mappings"));

    let mut s = spec();
    s.linux
        .as_mut()
        .unwrap()
        .namespaces
        .push(Namespace::new(NamespaceType::Time));
    check_spec(&s, false).unwrap();
    s.linux.as_mut().unwrap().namespaces.pop();
    s.linux.as_mut().unwrap().time_offsets = Some(Default::default());
    let e = check_spec(&s, false).unwrap_err();
    assert!(e.to_string().starts_with("config linux.timeOffsets"), "{e}");

    let mut s = spec();
    let mut profile =
        ocikit_types::runtime::Seccomp::new(ocikit_types::runtime::SeccompAction::Allow);
    profile.architectures = vec![ocikit_types::runtime::SeccompArch::M68k];
    s.linux.as_mut().unwrap().seccomp = Some(profile.clone());
    let e = check_spec(&s, false).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config linux.seccomp.architectures"),
        "{e}"
    );
    profile.architectures.clear();
    s.linux.as_mut().unwrap().seccomp = Some(profile);
    check_spec(&s, false).unwrap();

    let mut s = spec();
    s.process.as_mut().unwrap().io_priority = Some(ocikit_types::runtime::IoPriority::new(
        ocikit_types::runtime::IoPriorityClass::Be,
        9,
    ));
    let e = check_spec(&s, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config process.ioPriority.priority: expected 0 to 7, found 9"
    );

    let mut s = spec();
    s.linux.as_mut().unwrap().intel_rdt = Some(Default::default());
    let e = check_spec(&s, false).unwrap_err();
    assert_eq!(e.to_string(), "linux.intelRdt is not supported");

    for (key, ok) in [
        ("net.ipv4.ip_forward", true),
        ("net/ipv4/conf/eth0/forwarding", true),
        ("kernel.shmmax", true),
        ("fs.mqueue.msg_max", true),
        ("kernel.core_pattern", false),
        ("/etc/passwd", false),
        ("net/../../etc/passwd", false),
        ("net..ipv4", false),
        ("", false),
    ] {
        let mut s = spec();
        s.linux
            .as_mut()
            .unwrap()
            .sysctl
            .insert(key.into(), "1".into());
        assert_eq!(check_spec(&s, false).is_ok(), ok, "{key}");
    }
    let mut s = spec();
    s.linux
        .as_mut()
        .unwrap()
        .namespaces
        .retain(|n| n.kind != NamespaceType::Network);
    s.linux
        .as_mut()
        .unwrap()
        .sysctl
        .insert("net.ipv4.ip_forward".into(), "1".into());
    assert!(check_spec(&s, false).is_err(), "net sysctl without netns");

    let mut s = spec();
    s.process.as_mut().unwrap().args.clear();
    assert!(check_spec(&s, false)
        .unwrap_err()
        .to_string()
        .contains("process.args"));
}

#[test]
fn namespaces_new_joined_and_user_first() {
    let mut net = Namespace::new(NamespaceType::Network);
    net.path = "/proc/1/ns/net".into();
    let mut user = Namespace::new(NamespaceType::User);
    user.path = "/proc/1/ns/user".into();
    let plan = namespace_plan(&[
        Namespace::new(NamespaceType::Pid),
        net,
        Namespace::new(NamespaceType::Mount),
        user,
        Namespace::new(NamespaceType::Cgroup),
    ]);
    assert_eq!(
        plan.clone_flags,
        (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWCGROUP) as u64
    );
    assert!(!plan.new_userns);
    assert_eq!(
        plan.join,
        [
            (PathBuf::from("/proc/1/ns/user"), libc::CLONE_NEWUSER),
            (PathBuf::from("/proc/1/ns/net"), libc::CLONE_NEWNET)
        ]
    );
    let plan = namespace_plan(&[
        Namespace::new(NamespaceType::User),
        Namespace::new(NamespaceType::Uts),
    ]);
    assert!(plan.new_userns);
    assert_eq!(plan.clone_flags, libc::CLONE_NEWUTS as u64);
}

#[test]
fn sealed_init_program_cannot_be_written() {
    use std::io::Write;
    let copy = sealed_copy(Path::new("/proc/self/exe")).unwrap();
    let path = format!("/proc/self/fd/{}", copy.as_raw_fd());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read("/proc/self/exe").unwrap()
    );
    let w = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b"x"));
    assert!(w.is_err(), "a sealed memfd was written");
    // The read-only mount needs root; the fallback runs without it.
    let fd = sealed_program(Path::new("/proc/self/exe"), 50).unwrap();
    assert!(fd.as_raw_fd() >= 50);
    let w = std::fs::OpenOptions::new()
        .append(true)
        .open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .and_then(|mut f| f.write_all(b"x"));
    assert!(w.is_err(), "the init program was writable");
}

#[test]
fn exit_status_codes() {
    assert_eq!(ExitStatus::Code(7).code(), 7);
    assert_eq!(ExitStatus::Signal(9).code(), 137);
}

#[test]
fn issue21_a_relative_root_is_resolved_at_new() {
    let rt = Runtime::new("state");
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(rt.root(), cwd.join("state"));
    assert_eq!(Runtime::new("/run/x").root(), Path::new("/run/x"));
}
