//! Unit tests of the runtime models: defaults, single-defect documents,
//! open enums, and property tests.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::{Document, Error};

/// The paths of every violation `validate` reports for `bytes`.
fn violation_paths<T: Document>(bytes: &[u8]) -> Vec<String> {
    let doc = T::from_slice(bytes).expect("parses");
    match doc.validate() {
        Ok(()) => Vec::new(),
        Err(e) => e.violations().iter().map(|v| v.path.clone()).collect(),
    }
}

/// A minimal valid config with `patch` merged into its top level.
fn config_with(patch: serde_json::Value) -> Vec<u8> {
    let mut base = json!({"ociVersion": "1.3.0", "root": {"path": "rootfs"}});
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&base).unwrap()
}

#[test]
fn default_linux_is_what_runc_spec_writes() {
    let expected = json!({
        "ociVersion": "1.2.1",
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                "/sys/devices/virtual/tpm"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    });
    let spec = Spec::default_linux();
    assert_eq!(serde_json::to_value(&spec).unwrap(), expected);
    spec.validate().unwrap();
    let again = Spec::from_slice(&spec.to_canonical_vec()).unwrap();
    assert_eq!(again, spec);
    let from_runc: Spec = serde_json::from_value(expected).unwrap();
    assert_eq!(from_runc, spec);
}

#[test]
fn default_linux_rootless_follows_runc() {
    let spec = Spec::default_linux_rootless(1000, 1001);
    spec.validate().unwrap();
    let linux = spec.linux.as_ref().unwrap();
    let kinds: Vec<_> = linux.namespaces.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["pid", "ipc", "uts", "mount", "cgroup", "user"]);
    assert_eq!(linux.uid_mappings, [IdMapping::new(0, 1000, 1)]);
    assert_eq!(linux.gid_mappings, [IdMapping::new(0, 1001, 1)]);
    assert!(linux.resources.is_none());
    let sys = spec
        .mounts
        .iter()
        .find(|m| m.destination == "/sys")
        .unwrap();
    assert_eq!(
        serde_json::to_value(sys).unwrap(),
        json!({"destination": "/sys", "type": "none", "source": "/sys",
               "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    );
    let pts = spec
        .mounts
        .iter()
        .find(|m| m.destination == "/dev/pts")
        .unwrap();
    assert!(!pts.options.iter().any(|o| o.starts_with("gid=")));
    assert_eq!(spec.mounts.len(), 7);
    assert_eq!(Spec::from_slice(&spec.to_canonical_vec()).unwrap(), spec);
}

#[test]
fn minimal_config_is_valid() {
    assert!(violation_paths::<Spec>(&config_with(json!({}))).is_empty());
}

#[test]
fn bad_hugepage_page_size() {
    let bytes = config_with(json!({"linux": {"resources": {"hugepageLimits": [
        {"pageSize": "2MB", "limit": 1}, {"pageSize": "2mb", "limit": 1}
    ]}}}));
    assert_eq!(
        violation_paths::<Spec>(&bytes),
        ["$.linux.resources.hugepageLimits[1].pageSize"]
    );
}

#[test]
fn relative_cwd() {
    let bytes = config_with(json!({"process": {"cwd": "home/user"}}));
    assert_eq!(violation_paths::<Spec>(&bytes), ["$.process.cwd"]);
    let windows = config_with(json!({"process": {"cwd": "C:\\Users"}}));
    assert!(violation_paths::<Spec>(&windows).is_empty());
}

#[test]
fn missing_cwd_is_a_parse_error() {
    let bytes = config_with(json!({"process": {"args": ["sh"]}}));
    let err = Spec::from_slice(&bytes).unwrap_err();
    assert!(err.to_string().contains("cwd"), "{err}");
}

#[test]
fn bad_oci_version() {
    for bad in [
        "1.0", "v1.0.0", "1.0.0-", "01.0.0", "1.0.0+", "1.0.0-01", "",
    ] {
        let bytes = config_with(json!({ "ociVersion": bad }));
        assert_eq!(violation_paths::<Spec>(&bytes), ["$.ociVersion"], "{bad}");
    }
    for ok in [
        "0.5.0-dev",
        "1.0.2-dev",
        "1.0.0-rc.1+build.5",
        "10.20.30",
        "1.0.0-0a",
    ] {
        assert!(is_semver(ok), "{ok}");
    }
}

#[test]
fn every_violation_at_once() {
    let bytes = config_with(json!({
        "ociVersion": "one",
        "process": {"cwd": "rel", "rlimits": [
            {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
            {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2},
            {"type": "nofile", "soft": 1, "hard": 1}
        ], "ioPriority": {"class": "IOPRIO_CLASS_FAST"},
           "execCPUAffinity": {"initial": "0-3", "final": "all"}},
        "mounts": [{"destination": ""}],
        "hooks": {"poststop": [{"path": "cleanup.sh", "timeout": 0}]},
        "annotations": {"": "x"},
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "pid"}, {"type": "bogus"}],
            "devices": [{"type": "x", "path": "dev/null", "fileMode": 4095},
                        {"type": "c", "path": "/dev/zero"}],
            "rootfsPropagation": "recursive",
            "seccomp": {"defaultAction": "SCMP_ACT_MAYBE", "architectures": ["SCMP_ARCH_Z80"],
                        "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW",
                                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XOR"}]}]},
            "intelRdt": {"memBwSchema": "L3:0=ff"},
            "personality": {"domain": "LINUX64"},
            "memoryPolicy": {"mode": "MPOL_RANDOM", "flags": ["MPOL_F_FAST"]},
            "resources": {"memory": {"swappiness": 101}}
        }
    }));
    assert_eq!(
        violation_paths::<Spec>(&bytes),
        [
            "$.ociVersion",
            "$.process.cwd",
            "$.process.rlimits[1].type",
            "$.process.rlimits[2].type",
            "$.process.ioPriority.class",
            "$.process.execCPUAffinity.final",
            "$.mounts[0].destination",
            "$.hooks.poststop[0].path",
            "$.hooks.poststop[0].timeout",
            "$.annotations[\"\"]",
            "$.linux.namespaces[1].type",
            "$.linux.namespaces[2].type",
            "$.linux.devices[0].type",
            "$.linux.devices[0].path",
            "$.linux.devices[0].fileMode",
            "$.linux.devices[1].major",
            "$.linux.devices[1].minor",
            "$.linux.resources.memory.swappiness",
            "$.linux.intelRdt.memBwSchema",
            "$.linux.seccomp.defaultAction",
            "$.linux.seccomp.architectures[0]",
            "$.linux.seccomp.syscalls[0].names",
            "$.linux.seccomp.syscalls[0].args[0].op",
            "$.linux.rootfsPropagation",
            "$.linux.personality.domain",
            "$.linux.memoryPolicy.mode",
            "$.linux.memoryPolicy.flags[0]",
        ]
    );
}

#[test]
fn violation_messages_name_expected_and_found() {
    let bytes = config_with(json!({"linux": {"resources": {"hugepageLimits": [
        {"pageSize": "64kB", "limit": 1}
    ]}}}));
    let err = Spec::from_slice_validated(&bytes).unwrap_err();
    let v = &err.violations()[0];
    assert_eq!(v.found, "\"64kB\"");
    assert!(v.expected.contains("[KMG]B"), "{}", v.expected);
    assert!(
        err.to_string().starts_with("invalid runtime config: "),
        "{err}"
    );
}

#[test]
fn other_platforms() {
    let bytes = config_with(json!({
        "freebsd": {"jail": {"host": "disable", "vnet": "disable", "ip4": "disable",
                              "sysvmsg": "sometimes"},
                    "devices": [{"path": "pf", "mode": 512}]},
        "zos": {"namespaces": [{"type": "pid"}, {"type": "user"}]},
        "windows": {"layerFolders": [], "devices": [{"id": "x", "idType": "instance"}]},
        "vm": {"kernel": {"path": "vmlinuz"}, "image": {"path": "/i.img", "format": "iso"}}
    }));
    assert_eq!(
        violation_paths::<Spec>(&bytes),
        [
            "$.windows.layerFolders",
            "$.windows.devices[0].idType",
            "$.vm.kernel.path",
            "$.vm.image.format",
            "$.zos.namespaces[1].type",
            "$.freebsd.devices[0].mode",
            "$.freebsd.jail.host",
            "$.freebsd.jail.vnet",
            "$.freebsd.jail.sysvmsg",
        ]
    );
    // Required fields of the platform sections are enforced by parsing.
    assert!(Spec::from_slice(&config_with(json!({"vm": {}}))).is_err());
    assert!(Spec::from_slice(&config_with(json!({"windows": {}}))).is_err());
}

#[test]
fn unknown_values_and_fields_round_trip() {
    let bytes = config_with(json!({
        "x-vendor": {"a": 1},
        "process": {"cwd": "/", "capabilities": {"bounding": ["CAP_FUTURE", "CAP_KILL"]},
                    "x-process": true},
        "linux": {"namespaces": [{"type": "future", "path": "/proc/1/ns/future"}],
                  "resources": {"oomScoreAdj": 100}}
    }));
    let spec = Spec::from_slice(&bytes).unwrap();
    let process = spec.process.as_ref().unwrap();
    let caps = &process.capabilities.as_ref().unwrap().bounding;
    assert_eq!(caps[0], Capability::Other("CAP_FUTURE".into()));
    assert_eq!(caps[1], Capability::Kill);
    assert_eq!(Capability::Kill.number(), Some(5));
    assert!(process.extra.contains_key("x-process"));
    assert!(spec.extra.contains_key("x-vendor"));
    let linux = spec.linux.as_ref().unwrap();
    assert_eq!(
        linux.namespaces[0].kind,
        NamespaceType::Other("future".into())
    );
    assert!(linux
        .resources
        .as_ref()
        .unwrap()
        .extra
        .contains_key("oomScoreAdj"));
    let written: serde_json::Value = serde_json::from_slice(&spec.to_canonical_vec()).unwrap();
    let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(written, original);
    // Capabilities are not a closed set in config.json: CAP_FUTURE is fine.
    assert_eq!(
        violation_paths::<Spec>(&bytes),
        ["$.linux.namespaces[0].type"]
    );
}

#[test]
fn open_enum_conversions() {
    assert_eq!(
        "SCMP_ACT_LOG".parse::<SeccompAction>(),
        Ok(SeccompAction::Log)
    );
    assert_eq!(SeccompAction::from("nope".to_owned()).to_string(), "nope");
    assert_eq!(SchedulerPolicy::Normal.as_ref(), "SCHED_OTHER");
    assert!(!Status::Other("paused".into()).is_known());
    assert_eq!(NamespaceType::KNOWN.len(), 8);
    assert_eq!(Capability::KNOWN.len(), 41);
    assert_eq!(Capability::CheckpointRestore.number(), Some(40));
    assert!(serde_json::from_str::<NamespaceType>("1").is_err());
}

#[test]
fn state_validation() {
    let ok = br#"{"ociVersion":"1.2.0","id":"c1","status":"created","pid":1,"bundle":"/b"}"#;
    assert!(violation_paths::<State>(ok).is_empty());
    let bad = br#"{"ociVersion":"1.2","id":"","status":"paused","bundle":"b"}"#;
    assert_eq!(
        violation_paths::<State>(bad),
        ["$.ociVersion", "$.id", "$.status", "$.bundle"]
    );
    let missing = br#"{"ociVersion":"1.2.0","id":"c1","status":"created"}"#;
    assert!(State::from_slice(missing).is_err());
    let negative = br#"{"ociVersion":"1.2.0","id":"c","status":"created","pid":-1,"bundle":"/b"}"#;
    assert!(State::from_slice(negative).is_err());
}

#[test]
fn features_validation() {
    let bad = br#"{"ociVersionMin":"1.0.0","ociVersionMax":"latest","linux":{
        "namespaces":["pid","net"],"capabilities":["CAP_KILL","cap_kill"],
        "seccomp":{"actions":["SCMP_ACT_ALLOW","SCMP_ACT_FOO"],"knownFlags":["X"]}}}"#;
    assert_eq!(
        violation_paths::<Features>(bad),
        [
            "$.ociVersionMax",
            "$.linux.namespaces[1]",
            "$.linux.capabilities[1]",
            "$.linux.seccomp.actions[1]",
            "$.linux.seccomp.knownFlags[0]",
        ]
    );
    let f = Features::new("1.0.0", "1.3.0");
    f.validate().unwrap();
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0"})
    );
    // An empty list is kept: it means "none", where absence means "unknown".
    let empty = br#"{"hooks":[],"ociVersionMax":"1.0.0","ociVersionMin":"1.0.0"}"#;
    let f = Features::from_slice(empty).unwrap();
    assert_eq!(f.hooks, Some(Vec::new()));
    assert_eq!(f.to_canonical_vec(), empty.to_vec());
}

fn namespace_type() -> impl Strategy<Value = NamespaceType> {
    prop_oneof![
        prop::sample::select(NamespaceType::KNOWN),
        "[a-z]{1,8}".prop_map(NamespaceType::from),
    ]
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        prop::sample::select(Capability::KNOWN),
        "CAP_[A-Z_]{1,12}".prop_map(Capability::from),
    ]
}

fn mount() -> impl Strategy<Value = Mount> {
    (
        "/[a-z/]{0,12}",
        "[a-z]{0,6}",
        ".{0,8}",
        prop::collection::vec("[a-z=0-9]{1,8}", 0..4),
        prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..2),
    )
        .prop_map(|(dest, kind, source, options, maps)| {
            let options: Vec<&str> = options.iter().map(String::as_str).collect();
            let mut m = Mount::new(dest, kind, source, &options);
            m.uid_mappings = maps
                .iter()
                .map(|&(c, h, s)| IdMapping::new(c, h, s))
                .collect();
            m
        })
}

fn rlimit() -> impl Strategy<Value = Rlimit> {
    (
        prop_oneof![
            prop::sample::select(RlimitType::KNOWN),
            "RLIMIT_[A-Z]{1,6}".prop_map(RlimitType::from),
        ],
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(kind, soft, hard)| Rlimit::new(kind, soft, hard))
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(namespace_type(), 0..6),
        prop::collection::vec(capability(), 0..6),
        prop::collection::vec(mount(), 0..4),
        prop::collection::vec(rlimit(), 0..4),
        prop::option::of(any::<i32>()),
        ".{0,10}",
        prop::collection::btree_map(".{0,6}", ".{0,6}", 0..3),
    )
        .prop_map(|(ns, caps, mounts, rlimits, oom, hostname, annotations)| {
            let mut process = Process::new("/");
            process.capabilities = Some(Capabilities {
                bounding: caps.clone(),
                ambient: caps,
                ..Capabilities::default()
            });
            process.rlimits = rlimits;
            process.oom_score_adj = oom;
            let mut spec = Spec::new("1.3.0");
            spec.process = Some(process);
            spec.mounts = mounts;
            spec.hostname = hostname;
            spec.annotations = annotations;
            spec.linux = Some(Linux {
                namespaces: ns.into_iter().map(Namespace::new).collect(),
                ..Linux::default()
            });
            spec
        })
}

#[test]
fn device_file_mode_may_carry_the_devices_type_bits() {
    // podman writes the whole st_mode (S_IFCHR | 0o600 for --device).
    let ok = config_with(json!({"linux": {"devices": [
        {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 0o20600},
        {"type": "b", "path": "/dev/loop9", "major": 7, "minor": 9, "fileMode": 0o60660},
        {"type": "p", "path": "/dev/fifo", "fileMode": 0o10644},
        {"type": "c", "path": "/dev/null2", "major": 1, "minor": 3, "fileMode": 0o666}
    ]}}));
    assert!(violation_paths::<Spec>(&ok).is_empty());
    let bad = config_with(json!({"linux": {"devices": [
        {"type": "c", "path": "/dev/x", "major": 1, "minor": 3, "fileMode": 0o60600},
        {"type": "c", "path": "/dev/y", "major": 1, "minor": 3, "fileMode": 0o20_1777}
    ]}}));
    assert_eq!(
        violation_paths::<Spec>(&bad),
        ["$.linux.devices[0].fileMode", "$.linux.devices[1].fileMode"]
    );
}

proptest! {
    #[test]
    fn spec_serde_round_trip(spec in spec()) {
        let bytes = spec.to_canonical_vec();
        prop_assert_eq!(Spec::from_slice(&bytes).unwrap(), spec.clone());
        let pretty = spec.to_pretty_string();
        prop_assert_eq!(Spec::from_slice(pretty.as_bytes()).unwrap(), spec);
    }

    #[test]
    fn open_enums_round_trip_by_string(s in ".{0,20}") {
        prop_assert_eq!(NamespaceType::from(s.as_str()).to_string(), s.clone());
        prop_assert_eq!(Capability::from(s.clone()).to_string(), s.clone());
        let json = serde_json::to_string(&SeccompArch::from(s.as_str())).unwrap();
        prop_assert_eq!(serde_json::from_str::<SeccompArch>(&json).unwrap().to_string(), s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(s) = Spec::from_slice(&bytes) { let _ = s.validate(); }
        if let Ok(s) = State::from_slice(&bytes) { let _ = s.validate(); }
        if let Ok(f) = Features::from_slice(&bytes) { let _ = f.validate(); }
    }

    #[test]
    fn json_shaped_input_never_panics(
        version in ".{0,8}", cwd in ".{0,8}", page in ".{0,6}", ns in ".{0,8}", mode in any::<u32>()
    ) {
        let bytes = config_with(json!({
            "ociVersion": version,
            "process": {"cwd": cwd},
            "linux": {"namespaces": [{"type": ns}],
                      "resources": {"hugepageLimits": [{"pageSize": page, "limit": 1}]},
                      "devices": [{"type": "c", "path": "/dev/x", "fileMode": mode}]},
            "freebsd": {"devices": [{"mode": mode}]}
        }));
        let spec = Spec::from_slice(&bytes).unwrap();
        let _ = spec.validate();
    }
}

#[test]
fn a_type_error_names_its_json_path() {
    let bytes = br#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "process":{"cwd":"/","args":"sh -c true","user":{"uid":0,"gid":0}}}"#;
    let err = Spec::from_slice(bytes).unwrap_err();
    match &err {
        Error::MalformedJson { path, .. } => assert_eq!(path, "$.process.args"),
        other => panic!("expected MalformedJson, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("at $.process.args (line 2 column"), "{text}");
    assert!(text.contains("invalid type: string"), "{text}");

    let mounts = br#"{"ociVersion":"1.2.0","mounts":[{"destination":"/a"},{"destination":7}]}"#;
    match Spec::from_slice(mounts).unwrap_err() {
        Error::MalformedJson { path, .. } => assert_eq!(path, "$.mounts[1].destination"),
        other => panic!("expected MalformedJson, got {other:?}"),
    }
}
