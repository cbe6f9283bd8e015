//! The bundle configuration, `config.json` (runtime-spec `config.md`), and
//! its platform-independent parts: process, root, mounts and hooks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    check_annotations, check_version, is_absolute, is_default, FreeBsd, Linux, Solaris, Vm,
    Windows, Zos,
};
use crate::document::Document;
use crate::error::Validator;
use crate::{DocumentKind, Error};

/// A bundle's `config.json`: everything a runtime needs to create a
/// container (runtime-spec [`config.md`]).
///
/// ```
/// use ocikit_types::Document;
/// use ocikit_types::runtime::{Process, Root, Spec};
///
/// // The smallest configuration that can be started.
/// let mut spec = Spec::new("1.2.0");
/// spec.root = Some(Root::new("rootfs"));
/// let mut process = Process::new("/");
/// process.args = vec!["sh".into()];
/// spec.process = Some(process);
/// spec.validate()?;
///
/// // A relative working directory is reported with its JSON path.
/// spec.process.as_mut().unwrap().cwd = "home".into();
/// let err = spec.validate().unwrap_err();
/// assert_eq!(err.violations()[0].path, "$.process.cwd");
/// # Ok::<(), ocikit_types::Error>(())
/// ```
///
/// [`config.md`]: https://github.com/opencontainers/runtime-spec/blob/main/config.md
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Spec {
    /// REQUIRED. The runtime-spec version the bundle complies with, SemVer 2.0.0.
    pub oci_version: String,
    /// OPTIONAL. The container's root filesystem; REQUIRED on every platform
    /// but Windows Hyper-V containers, where it MUST NOT be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<Root>,
    /// OPTIONAL. Additional mounts, in the order they are made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// OPTIONAL. The container process; REQUIRED when `start` is called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    /// OPTIONAL. The container's hostname (needs a UTS namespace on Linux).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// OPTIONAL. The container's NIS domain name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    /// OPTIONAL. Lifecycle hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// OPTIONAL. Arbitrary metadata; keys MUST NOT be empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// OPTIONAL. Linux-specific configuration (`config-linux.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<Linux>,
    /// OPTIONAL. Solaris-specific configuration (`config-solaris.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solaris: Option<Solaris>,
    /// OPTIONAL. Windows-specific configuration (`config-windows.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<Windows>,
    /// OPTIONAL. Configuration for virtual-machine-based containers (`config-vm.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<Vm>,
    /// OPTIONAL. z/OS-specific configuration (`config-zos.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zos: Option<Zos>,
    /// OPTIONAL. FreeBSD-specific configuration (`config-freebsd.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freebsd: Option<FreeBsd>,
    /// Fields this crate does not know, kept so that nothing is lost.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Spec {
    /// An otherwise empty configuration declaring `oci_version`.
    pub fn new(oci_version: impl Into<String>) -> Self {
        Spec {
            oci_version: oci_version.into(),
            ..Spec::default()
        }
    }
}

/// The container's root filesystem (`config.md`, "Root").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Root {
    /// REQUIRED. Path to the root filesystem, absolute or relative to the
    /// bundle; a volume GUID path on Windows.
    pub path: String,
    /// OPTIONAL. Whether the root filesystem is read-only; default false.
    #[serde(default, skip_serializing_if = "is_default")]
    pub readonly: bool,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Root {
    /// A writable root filesystem at `path`.
    pub fn new(path: impl Into<String>) -> Self {
        Root {
            path: path.into(),
            ..Root::default()
        }
    }
}

/// One mount (`config.md`, "Mounts").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Mount {
    /// REQUIRED. Where to mount, inside the container. Linux accepts a path
    /// relative to the root filesystem, but it SHOULD be absolute.
    pub destination: String,
    /// OPTIONAL. A device name, directory or dummy; for bind mounts, the
    /// host path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// OPTIONAL. Mount options (mount(8) spelling on Linux).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// OPTIONAL. The filesystem type (`proc`, `tmpfs`, `bind`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// OPTIONAL. User ID mappings for an idmapped mount (Linux).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMapping>,
    /// OPTIONAL. Group ID mappings for an idmapped mount (Linux).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMapping>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Mount {
    /// A mount of `source` (of type `kind`) at `destination` with `options`.
    pub fn new(
        destination: impl Into<String>,
        kind: impl Into<String>,
        source: impl Into<String>,
        options: &[&str],
    ) -> Self {
        Mount {
            destination: destination.into(),
            source: source.into(),
            options: options.iter().map(|&o| o.to_owned()).collect(),
            kind: kind.into(),
            ..Mount::default()
        }
    }
}

/// A range of IDs mapped from the container to the host (`config-linux.md`,
/// "User namespace mappings", and idmapped mounts).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdMapping {
    /// REQUIRED. First ID in the container.
    #[serde(rename = "containerID")]
    pub container_id: u32,
    /// REQUIRED. First ID on the host.
    #[serde(rename = "hostID")]
    pub host_id: u32,
    /// REQUIRED. Number of IDs mapped.
    pub size: u32,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl IdMapping {
    /// Maps `size` IDs starting at `container_id` to those at `host_id`.
    pub fn new(container_id: u32, host_id: u32, size: u32) -> Self {
        IdMapping {
            container_id,
            host_id,
            size,
            extra: BTreeMap::new(),
        }
    }
}

/// The container process (`config.md`, "Process").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Process {
    /// OPTIONAL. Attach a terminal to the process; default false.
    #[serde(default, skip_serializing_if = "is_default")]
    pub terminal: bool,
    /// OPTIONAL. Console size in characters, when `terminal` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
    /// OPTIONAL in the schema; the user the process runs as. POSIX
    /// platforms expect it, Windows uses only `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// OPTIONAL (at least one entry on POSIX when the process is started).
    /// The executable and its arguments, as `execvp` takes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// OPTIONAL, Windows only. The full command line, used instead of `args`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command_line: String,
    /// OPTIONAL. The environment, each entry `KEY=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// REQUIRED. The working directory; MUST be an absolute path.
    pub cwd: String,
    /// OPTIONAL, Linux. The process's capability sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// OPTIONAL, POSIX. Resource limits; a type MUST NOT appear twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<Rlimit>,
    /// OPTIONAL, Linux. Set `no_new_privs`; default false.
    #[serde(default, skip_serializing_if = "is_default")]
    pub no_new_privileges: bool,
    /// OPTIONAL, Linux. The AppArmor profile.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apparmor_profile: String,
    /// OPTIONAL, Linux. The OOM score adjustment, -1000 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    /// OPTIONAL, Linux. The SELinux process label.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selinux_label: String,
    /// OPTIONAL, Linux. The I/O scheduling class and priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_priority: Option<IoPriority>,
    /// OPTIONAL, Linux. The scheduling policy (`sched_setattr(2)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Scheduler>,
    /// OPTIONAL, Linux. CPU affinity while and after `exec`ing the process.
    #[serde(
        rename = "execCPUAffinity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exec_cpu_affinity: Option<ExecCpuAffinity>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Process {
    /// A process working in `cwd`, with nothing else set.
    pub fn new(cwd: impl Into<String>) -> Self {
        Process {
            cwd: cwd.into(),
            ..Process::default()
        }
    }
}

/// A terminal size in characters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsoleSize {
    /// REQUIRED. Rows.
    pub height: u64,
    /// REQUIRED. Columns.
    pub width: u64,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ConsoleSize {
    /// A console of `height` rows and `width` columns.
    pub fn new(height: u64, width: u64) -> Self {
        ConsoleSize {
            height,
            width,
            extra: BTreeMap::new(),
        }
    }
}

/// The user a process runs as (`config.md`, "User").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// REQUIRED on POSIX platforms. User ID in the container namespace.
    #[serde(default)]
    pub uid: u32,
    /// REQUIRED on POSIX platforms. Group ID in the container namespace.
    #[serde(default)]
    pub gid: u32,
    /// OPTIONAL. The umask; when absent the runtime's default applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    /// OPTIONAL. Supplementary group IDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
    /// OPTIONAL, Windows. The user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl User {
    /// The user `uid` with primary group `gid`.
    pub fn new(uid: u32, gid: u32) -> Self {
        User {
            uid,
            gid,
            ..User::default()
        }
    }
}

/// The capability sets of a process (`config.md`, Linux process).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// OPTIONAL. The bounding set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bounding: Vec<Capability>,
    /// OPTIONAL. The effective set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effective: Vec<Capability>,
    /// OPTIONAL. The inheritable set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inheritable: Vec<Capability>,
    /// OPTIONAL. The permitted set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted: Vec<Capability>,
    /// OPTIONAL. The ambient set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ambient: Vec<Capability>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

open_enum! {
    /// A Linux capability, spelled as in capabilities(7) (`CAP_SYS_ADMIN`).
    /// Variants are in kernel number order.
    pub enum Capability {
        Chown => "CAP_CHOWN",
        DacOverride => "CAP_DAC_OVERRIDE",
        DacReadSearch => "CAP_DAC_READ_SEARCH",
        Fowner => "CAP_FOWNER",
        Fsetid => "CAP_FSETID",
        Kill => "CAP_KILL",
        Setgid => "CAP_SETGID",
        Setuid => "CAP_SETUID",
        Setpcap => "CAP_SETPCAP",
        LinuxImmutable => "CAP_LINUX_IMMUTABLE",
        NetBindService => "CAP_NET_BIND_SERVICE",
        NetBroadcast => "CAP_NET_BROADCAST",
        NetAdmin => "CAP_NET_ADMIN",
        NetRaw => "CAP_NET_RAW",
        IpcLock => "CAP_IPC_LOCK",
        IpcOwner => "CAP_IPC_OWNER",
        SysModule => "CAP_SYS_MODULE",
        SysRawio => "CAP_SYS_RAWIO",
        SysChroot => "CAP_SYS_CHROOT",
        SysPtrace => "CAP_SYS_PTRACE",
        SysPacct => "CAP_SYS_PACCT",
        SysAdmin => "CAP_SYS_ADMIN",
        SysBoot => "CAP_SYS_BOOT",
        SysNice => "CAP_SYS_NICE",
        SysResource => "CAP_SYS_RESOURCE",
        SysTime => "CAP_SYS_TIME",
        SysTtyConfig => "CAP_SYS_TTY_CONFIG",
        Mknod => "CAP_MKNOD",
        Lease => "CAP_LEASE",
        AuditWrite => "CAP_AUDIT_WRITE",
        AuditControl => "CAP_AUDIT_CONTROL",
        Setfcap => "CAP_SETFCAP",
        MacOverride => "CAP_MAC_OVERRIDE",
        MacAdmin => "CAP_MAC_ADMIN",
        Syslog => "CAP_SYSLOG",
        WakeAlarm => "CAP_WAKE_ALARM",
        BlockSuspend => "CAP_BLOCK_SUSPEND",
        AuditRead => "CAP_AUDIT_READ",
        Perfmon => "CAP_PERFMON",
        Bpf => "CAP_BPF",
        CheckpointRestore => "CAP_CHECKPOINT_RESTORE",
    }
}

impl Capability {
    /// The kernel's number for this capability, or `None` for `Other`.
    pub fn number(&self) -> Option<u8> {
        Capability::KNOWN
            .iter()
            .position(|c| c == self)
            .and_then(|i| u8::try_from(i).ok())
    }
}

/// One resource limit (`config.md`, POSIX process, `rlimits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rlimit {
    /// REQUIRED. The resource, `RLIMIT_` and upper-case letters.
    #[serde(rename = "type")]
    pub kind: RlimitType,
    /// REQUIRED. The ceiling for the soft limit.
    pub hard: u64,
    /// REQUIRED. The limit the kernel enforces.
    pub soft: u64,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Rlimit {
    /// A limit of `kind` with these `soft` and `hard` values.
    pub fn new(kind: RlimitType, soft: u64, hard: u64) -> Self {
        Rlimit {
            kind,
            hard,
            soft,
            extra: BTreeMap::new(),
        }
    }
}

open_enum! {
    /// A resource of setrlimit(2). Other values must match `^RLIMIT_[A-Z]+$`.
    pub enum RlimitType {
        Cpu => "RLIMIT_CPU",
        Fsize => "RLIMIT_FSIZE",
        Data => "RLIMIT_DATA",
        Stack => "RLIMIT_STACK",
        Core => "RLIMIT_CORE",
        Rss => "RLIMIT_RSS",
        Nproc => "RLIMIT_NPROC",
        Nofile => "RLIMIT_NOFILE",
        Memlock => "RLIMIT_MEMLOCK",
        As => "RLIMIT_AS",
        Locks => "RLIMIT_LOCKS",
        Sigpending => "RLIMIT_SIGPENDING",
        Msgqueue => "RLIMIT_MSGQUEUE",
        Nice => "RLIMIT_NICE",
        Rtprio => "RLIMIT_RTPRIO",
        Rttime => "RLIMIT_RTTIME",
    }
}

/// The I/O priority of a process (`ioprio_set(2)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IoPriority {
    /// REQUIRED. The scheduling class.
    pub class: IoPriorityClass,
    /// OPTIONAL. The priority within the class; default 0.
    #[serde(default)]
    pub priority: i32,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl IoPriority {
    /// `class` at `priority`.
    pub fn new(class: IoPriorityClass, priority: i32) -> Self {
        IoPriority {
            class,
            priority,
            extra: BTreeMap::new(),
        }
    }
}

open_enum! {
    /// An I/O scheduling class; the schema closes this set.
    pub enum IoPriorityClass {
        Rt => "IOPRIO_CLASS_RT",
        Be => "IOPRIO_CLASS_BE",
        Idle => "IOPRIO_CLASS_IDLE",
    }
}

/// The scheduling policy of a process (`sched_setattr(2)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scheduler {
    /// REQUIRED. The policy.
    pub policy: SchedulerPolicy,
    /// OPTIONAL. The nice value, for `SCHED_OTHER` and `SCHED_BATCH`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub nice: i32,
    /// OPTIONAL. The static priority, for `SCHED_FIFO` and `SCHED_RR`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub priority: i32,
    /// OPTIONAL. Flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<SchedulerFlag>,
    /// OPTIONAL. Runtime in nanoseconds, for `SCHED_DEADLINE`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub runtime: u64,
    /// OPTIONAL. Deadline in nanoseconds, for `SCHED_DEADLINE`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub deadline: u64,
    /// OPTIONAL. Period in nanoseconds, for `SCHED_DEADLINE`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub period: u64,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Scheduler {
    /// `policy` with every parameter zero.
    pub fn new(policy: SchedulerPolicy) -> Self {
        Scheduler {
            policy,
            nice: 0,
            priority: 0,
            flags: Vec::new(),
            runtime: 0,
            deadline: 0,
            period: 0,
            extra: BTreeMap::new(),
        }
    }
}

open_enum! {
    /// A scheduling policy; the schema closes this set.
    pub enum SchedulerPolicy {
        Normal => "SCHED_OTHER",
        Fifo => "SCHED_FIFO",
        Rr => "SCHED_RR",
        Batch => "SCHED_BATCH",
        Iso => "SCHED_ISO",
        Idle => "SCHED_IDLE",
        Deadline => "SCHED_DEADLINE",
    }
}

open_enum! {
    /// A scheduling flag; the schema closes this set.
    pub enum SchedulerFlag {
        ResetOnFork => "SCHED_FLAG_RESET_ON_FORK",
        Reclaim => "SCHED_FLAG_RECLAIM",
        DlOverrun => "SCHED_FLAG_DL_OVERRUN",
        KeepPolicy => "SCHED_FLAG_KEEP_POLICY",
        KeepParams => "SCHED_FLAG_KEEP_PARAMS",
        UtilClampMin => "SCHED_FLAG_UTIL_CLAMP_MIN",
        UtilClampMax => "SCHED_FLAG_UTIL_CLAMP_MAX",
    }
}

/// CPU affinity of the process around `exec` (CPU lists such as `0-3,7`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecCpuAffinity {
    /// OPTIONAL. Affinity while the runtime joins the container and until `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<String>,
    /// OPTIONAL. Affinity of the process after `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#final: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Lifecycle hooks (`config.md`, "POSIX-platform Hooks").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Hooks {
    /// OPTIONAL, DEPRECATED in favour of the three `create*` hooks. Run in
    /// the runtime namespace after the container is created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prestart: Vec<Hook>,
    /// OPTIONAL. Run in the runtime namespace during `create`, after the
    /// environment is set up and before `pivot_root`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_runtime: Vec<Hook>,
    /// OPTIONAL. Run in the container namespace during `create`, before
    /// `pivot_root`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_container: Vec<Hook>,
    /// OPTIONAL. Run in the container namespace during `start`, before the
    /// user program.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_container: Vec<Hook>,
    /// OPTIONAL. Run in the runtime namespace after the user program starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<Hook>,
    /// OPTIONAL. Run in the runtime namespace after the container is deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<Hook>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Hooks {
    /// Each hook list with its JSON name, in lifecycle order.
    pub fn lists(&self) -> [(&'static str, &[Hook]); 6] {
        [
            ("prestart", &self.prestart),
            ("createRuntime", &self.create_runtime),
            ("createContainer", &self.create_container),
            ("startContainer", &self.start_container),
            ("poststart", &self.poststart),
            ("poststop", &self.poststop),
        ]
    }
}

/// One hook: a program to run at a lifecycle point.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hook {
    /// REQUIRED. The program; MUST be an absolute path.
    pub path: String,
    /// OPTIONAL. Arguments, `argv[0]` included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// OPTIONAL. The environment, each entry `KEY=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// OPTIONAL. Seconds before the hook is aborted; MUST be greater than zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Hook {
    /// A hook running `path` with no arguments.
    pub fn new(path: impl Into<String>) -> Self {
        Hook {
            path: path.into(),
            ..Hook::default()
        }
    }
}

fn is_cpu_list(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b',' | b' ' | b'-'))
}

fn is_rlimit_name(s: &str) -> bool {
    s.strip_prefix("RLIMIT_")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_uppercase()))
}

impl Process {
    pub(crate) fn check(&self, v: &mut Validator) {
        if !is_absolute(&self.cwd) {
            v.report_field("cwd", "an absolute path", format!("{:?}", self.cwd));
        }
        v.field("rlimits", |v| {
            for (i, r) in self.rlimits.iter().enumerate() {
                v.index(i, |v| {
                    if !is_rlimit_name(r.kind.as_str()) {
                        v.report_field(
                            "type",
                            "`RLIMIT_` and upper-case letters",
                            format!("{:?}", r.kind.as_str()),
                        );
                    } else if self.rlimits[..i].iter().any(|p| p.kind == r.kind) {
                        v.report_field(
                            "type",
                            "a type not listed before",
                            format!("{:?}", r.kind.as_str()),
                        );
                    }
                });
            }
        });
        if let Some(p) = &self.io_priority {
            v.field("ioPriority", |v| {
                v.field("class", |v| p.class.check_known(v))
            });
        }
        if let Some(s) = &self.scheduler {
            v.field("scheduler", |v| {
                v.field("policy", |v| s.policy.check_known(v));
                v.field("flags", |v| {
                    for (i, f) in s.flags.iter().enumerate() {
                        v.index(i, |v| f.check_known(v));
                    }
                });
            });
        }
        if let Some(a) = &self.exec_cpu_affinity {
            v.field("execCPUAffinity", |v| {
                for (name, value) in [("initial", &a.initial), ("final", &a.r#final)] {
                    if let Some(s) = value {
                        if !is_cpu_list(s) {
                            v.report_field(
                                name,
                                "a CPU list of digits, `,`, `-` and spaces",
                                format!("{s:?}"),
                            );
                        }
                    }
                }
            });
        }
    }
}

pub(crate) fn check_mappings(v: &mut Validator, name: &str, maps: &[IdMapping]) {
    v.field(name, |v| {
        for (i, m) in maps.iter().enumerate() {
            if u64::from(m.container_id) + u64::from(m.size) > 1 << 32
                || u64::from(m.host_id) + u64::from(m.size) > 1 << 32
            {
                v.index(i, |v| {
                    v.report_field(
                        "size",
                        "a range that fits in 32-bit IDs",
                        m.size.to_string(),
                    )
                });
            }
        }
    });
}

impl Document for Spec {
    const KIND: DocumentKind = DocumentKind::RuntimeConfig;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        check_version(&mut v, "ociVersion", &self.oci_version);
        if let Some(p) = &self.process {
            v.field("process", |v| p.check(v));
        }
        if let Some(r) = &self.root {
            if r.path.is_empty() {
                v.field("root", |v| {
                    v.report_field("path", "a non-empty path", "\"\"")
                });
            }
        }
        v.field("mounts", |v| {
            for (i, m) in self.mounts.iter().enumerate() {
                v.index(i, |v| {
                    if m.destination.is_empty() {
                        v.report_field("destination", "a non-empty path", "\"\"");
                    }
                    check_mappings(v, "uidMappings", &m.uid_mappings);
                    check_mappings(v, "gidMappings", &m.gid_mappings);
                });
            }
        });
        if let Some(h) = &self.hooks {
            v.field("hooks", |v| {
                for (name, list) in h.lists() {
                    v.field(name, |v| {
                        for (i, hook) in list.iter().enumerate() {
                            v.index(i, |v| {
                                if !is_absolute(&hook.path) {
                                    v.report_field(
                                        "path",
                                        "an absolute path",
                                        format!("{:?}", hook.path),
                                    );
                                }
                                if let Some(t) = hook.timeout {
                                    if t < 1 {
                                        v.report_field(
                                            "timeout",
                                            "at least 1 second",
                                            t.to_string(),
                                        );
                                    }
                                }
                            });
                        }
                    });
                }
            });
        }
        check_annotations(&mut v, &self.annotations);
        if let Some(l) = &self.linux {
            v.field("linux", |v| l.check(v));
        }
        if let Some(w) = &self.windows {
            v.field("windows", |v| w.check(v));
        }
        if let Some(m) = &self.vm {
            v.field("vm", |v| m.check(v));
        }
        if let Some(z) = &self.zos {
            v.field("zos", |v| z.check(v));
        }
        if let Some(f) = &self.freebsd {
            v.field("freebsd", |v| f.check(v));
        }
        v.finish(Self::KIND)
    }
}
