//! Starting configurations equal in content to what `runc spec` and
//! `runc spec --rootless` write.

use super::{
    Capabilities, Capability, DeviceCgroup, IdMapping, Linux, Mount, Namespace, NamespaceType,
    Process, Resources, Rlimit, RlimitType, Root, Spec, User,
};

/// The runtime-spec version the default configurations declare, the one
/// `runc` 1.2 and 1.3 write.
const DEFAULT_OCI_VERSION: &str = "1.2.1";

const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
    "/sys/devices/virtual/tpm",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|&s| s.to_owned()).collect()
}

impl Spec {
    /// The configuration `runc spec` writes: `sh` on a terminal as root in
    /// a read-only `rootfs`, with runc's default mounts, masked and
    /// read-only paths, a device cgroup that denies everything, and new
    /// pid, network, ipc, uts, mount and cgroup namespaces.
    ///
    /// ```
    /// use ocikit_types::Document;
    /// use ocikit_types::runtime::Spec;
    /// let spec = Spec::default_linux();
    /// spec.validate()?;
    /// assert_eq!(spec.hostname, "runc");
    /// # Ok::<(), ocikit_types::Error>(())
    /// ```
    pub fn default_linux() -> Self {
        let default_caps = vec![
            Capability::AuditWrite,
            Capability::Kill,
            Capability::NetBindService,
        ];
        let mut process = Process::new("/");
        process.terminal = true;
        process.user = Some(User::new(0, 0));
        process.args = strings(&["sh"]);
        process.env = strings(&[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
        ]);
        process.no_new_privileges = true;
        process.capabilities = Some(Capabilities {
            bounding: default_caps.clone(),
            effective: default_caps.clone(),
            permitted: default_caps,
            ..Capabilities::default()
        });
        process.rlimits = vec![Rlimit::new(RlimitType::Nofile, 1024, 1024)];

        let mut root = Root::new("rootfs");
        root.readonly = true;

        let mut linux = Linux {
            masked_paths: strings(MASKED_PATHS),
            readonly_paths: strings(READONLY_PATHS),
            resources: Some(Resources {
                devices: vec![DeviceCgroup::all(false)],
                ..Resources::default()
            }),
            ..Linux::default()
        };
        linux.namespaces = [
            NamespaceType::Pid,
            NamespaceType::Network,
            NamespaceType::Ipc,
            NamespaceType::Uts,
            NamespaceType::Mount,
            NamespaceType::Cgroup,
        ]
        .into_iter()
        .map(Namespace::new)
        .collect();

        let mut spec = Spec::new(DEFAULT_OCI_VERSION);
        spec.process = Some(process);
        spec.root = Some(root);
        spec.hostname = "runc".to_owned();
        spec.mounts = vec![
            Mount::new("/proc", "proc", "proc", &[]),
            Mount::new(
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            Mount::new(
                "/dev/pts",
                "devpts",
                "devpts",
                &[
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            ),
            Mount::new(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ),
            Mount::new(
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ),
            Mount::new(
                "/sys",
                "sysfs",
                "sysfs",
                &["nosuid", "noexec", "nodev", "ro"],
            ),
            Mount::new(
                "/sys/fs/cgroup",
                "cgroup",
                "cgroup",
                &["nosuid", "noexec", "nodev", "relatime", "ro"],
            ),
        ];
        spec.linux = Some(linux);
        spec
    }

    /// The configuration `runc spec --rootless` writes for a user whose
    /// effective IDs on the host are `host_uid` and `host_gid`: as
    /// [`Spec::default_linux`], but in a new user namespace mapping
    /// container root to those IDs, without a network namespace, with the
    /// host's `/sys` bind-mounted read-only, without `uid=`/`gid=` mount
    /// options, and without cgroup resources.
    ///
    /// ```
    /// use ocikit_types::runtime::{NamespaceType, Spec};
    /// let spec = Spec::default_linux_rootless(1000, 1000);
    /// let linux = spec.linux.as_ref().unwrap();
    /// assert!(linux.namespaces.iter().any(|ns| ns.kind == NamespaceType::User));
    /// assert_eq!(linux.uid_mappings[0].host_id, 1000);
    /// ```
    pub fn default_linux_rootless(host_uid: u32, host_gid: u32) -> Self {
        let mut spec = Spec::default_linux();
        if let Some(linux) = spec.linux.as_mut() {
            linux
                .namespaces
                .retain(|ns| !matches!(ns.kind, NamespaceType::Network | NamespaceType::User));
            linux.namespaces.push(Namespace::new(NamespaceType::User));
            linux.uid_mappings = vec![IdMapping::new(0, host_uid, 1)];
            linux.gid_mappings = vec![IdMapping::new(0, host_gid, 1)];
            linux.resources = None;
        }
        for m in &mut spec.mounts {
            if m.destination == "/sys" {
                *m = Mount::new(
                    "/sys",
                    "none",
                    "/sys",
                    &["rbind", "nosuid", "noexec", "nodev", "ro"],
                );
            } else {
                m.options
                    .retain(|o| !o.starts_with("uid=") && !o.starts_with("gid="));
            }
        }
        spec
    }
}
