//! Linux-specific configuration (runtime-spec `config-linux.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::spec::check_mappings;
use super::{is_absolute, is_default, IdMapping};
use crate::error::Validator;

/// Linux-specific configuration (`config-linux.md`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Linux {
    /// OPTIONAL. Namespaces to create or join; a type MUST NOT appear twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Namespace>,
    /// OPTIONAL. User ID mappings of the user namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMapping>,
    /// OPTIONAL. Group ID mappings of the user namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMapping>,
    /// OPTIONAL. Offsets of the time namespace's clocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_offsets: Option<TimeOffsets>,
    /// OPTIONAL. Devices to create in the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// OPTIONAL. Network devices to move into the container, keyed by host name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub net_devices: BTreeMap<String, NetDevice>,
    /// OPTIONAL. The cgroup path, absolute or relative to the runtime's
    /// cgroup root; a runtime-defined form for systemd.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cgroups_path: String,
    /// OPTIONAL. Cgroup resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// OPTIONAL. Intel RDT (resctrl) configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<IntelRdt>,
    /// OPTIONAL. Kernel parameters to set in the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, String>,
    /// OPTIONAL. The seccomp filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
    /// OPTIONAL. Propagation of the root filesystem mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs_propagation: Option<RootfsPropagation>,
    /// OPTIONAL. Paths to mask so the container cannot read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked_paths: Vec<String>,
    /// OPTIONAL. Paths to make read-only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readonly_paths: Vec<String>,
    /// OPTIONAL. The SELinux context of the container's mounts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mount_label: String,
    /// OPTIONAL. The execution domain (personality(2)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<Personality>,
    /// OPTIONAL. The NUMA memory policy (set_mempolicy(2)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<MemoryPolicy>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A namespace to create, or to join when `path` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Namespace {
    /// REQUIRED. The namespace type.
    #[serde(rename = "type")]
    pub kind: NamespaceType,
    /// OPTIONAL. A namespace file to join; a new namespace when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Namespace {
    /// A new namespace of `kind`.
    pub fn new(kind: NamespaceType) -> Self {
        Namespace {
            kind,
            path: String::new(),
            extra: BTreeMap::new(),
        }
    }
}

open_enum! {
    /// A Linux namespace type; the schema closes this set.
    pub enum NamespaceType {
        Mount => "mount",
        Pid => "pid",
        Network => "network",
        Uts => "uts",
        Ipc => "ipc",
        User => "user",
        Cgroup => "cgroup",
        Time => "time",
    }
}

/// The clock offsets of a time namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeOffsets {
    /// OPTIONAL. Offset of `CLOCK_BOOTTIME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boottime: Option<TimeOffset>,
    /// OPTIONAL. Offset of `CLOCK_MONOTONIC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monotonic: Option<TimeOffset>,
    /// Fields this crate does not know (other clocks).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// One clock offset.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeOffset {
    /// OPTIONAL. Whole seconds.
    #[serde(default)]
    pub secs: i64,
    /// OPTIONAL. Nanoseconds added to `secs`.
    #[serde(default)]
    pub nanosecs: u32,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A device to create in the container (`config-linux.md`, "Devices").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    /// REQUIRED. `c` (character), `b` (block), `u` (unbuffered character)
    /// or `p` (FIFO).
    #[serde(rename = "type")]
    pub kind: String,
    /// REQUIRED. Full path of the device inside the container.
    pub path: String,
    /// OPTIONAL. Permission bits, 0 to 0o777.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_mode: Option<u32>,
    /// REQUIRED unless `type` is `p`. Major number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    /// REQUIRED unless `type` is `p`. Minor number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    /// OPTIONAL. Owner user ID in the container namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// OPTIONAL. Owner group ID in the container namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Device {
    /// A device node of `kind` (`c`, `b`, `u` or `p`) at `path`.
    pub fn new(kind: impl Into<String>, path: impl Into<String>) -> Self {
        Device {
            kind: kind.into(),
            path: path.into(),
            file_mode: None,
            major: None,
            minor: None,
            uid: None,
            gid: None,
            extra: BTreeMap::new(),
        }
    }
}

/// A network device moved into the container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetDevice {
    /// OPTIONAL. Its name inside the container; the host name when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Cgroup resource limits (`config-linux.md`, "Control groups").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Resources {
    /// OPTIONAL. Device access rules, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceCgroup>,
    /// OPTIONAL. Memory limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// OPTIONAL. CPU limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// OPTIONAL. Block I/O limits.
    #[serde(rename = "blockIO", default, skip_serializing_if = "Option::is_none")]
    pub block_io: Option<BlockIo>,
    /// OPTIONAL. Huge page limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hugepage_limits: Vec<HugepageLimit>,
    /// OPTIONAL. Network class and priorities (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// OPTIONAL. Process count limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    /// OPTIONAL. RDMA limits, keyed by device name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rdma: BTreeMap<String, Rdma>,
    /// OPTIONAL. Raw cgroup v2 files and values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unified: BTreeMap<String, String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A device cgroup rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceCgroup {
    /// REQUIRED. Allow (true) or deny (false).
    pub allow: bool,
    /// OPTIONAL. `a` (all), `c` or `b`; all when absent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// OPTIONAL. Major number; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    /// OPTIONAL. Minor number; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    /// OPTIONAL. Any of `r`, `w` and `m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl DeviceCgroup {
    /// A rule that denies (`allow` false) or allows every access to every device.
    pub fn all(allow: bool) -> Self {
        DeviceCgroup {
            allow,
            access: Some("rwm".to_owned()),
            ..DeviceCgroup::default()
        }
    }
}

/// Memory limits, in bytes; -1 means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Memory {
    /// OPTIONAL. Memory usage limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// OPTIONAL. Soft limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    /// OPTIONAL. Memory plus swap limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
    /// OPTIONAL, DEPRECATED. Kernel memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<i64>,
    /// OPTIONAL, DEPRECATED. Kernel TCP buffer limit.
    #[serde(rename = "kernelTCP", default, skip_serializing_if = "Option::is_none")]
    pub kernel_tcp: Option<i64>,
    /// OPTIONAL. Swappiness, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<u64>,
    /// OPTIONAL. Disable the OOM killer.
    #[serde(
        rename = "disableOOMKiller",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_oom_killer: Option<bool>,
    /// OPTIONAL, DEPRECATED. Hierarchical accounting (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_hierarchy: Option<bool>,
    /// OPTIONAL. Refuse an update that sets the limit below current usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_before_update: Option<bool>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// CPU limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cpu {
    /// OPTIONAL. Relative share of CPU time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// OPTIONAL. CPU time allowed per `period`, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    /// OPTIONAL. Extra CPU time that may accumulate, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    /// OPTIONAL. CFS period, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// OPTIONAL. Realtime CPU time per `realtimePeriod`, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_runtime: Option<i64>,
    /// OPTIONAL. Realtime period, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_period: Option<u64>,
    /// OPTIONAL. CPUs the container may use (`0-3,7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// OPTIONAL. Memory nodes the container may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mems: Option<String>,
    /// OPTIONAL. `SCHED_IDLE` for the cgroup when 1 (cgroup v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<i64>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Block I/O limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BlockIo {
    /// OPTIONAL. Default weight, 10 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// OPTIONAL. Weight against child cgroups, 10 to 1000 (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
    /// OPTIONAL. Weights per device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    /// OPTIONAL. Read bytes per second, per device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    /// OPTIONAL. Write bytes per second, per device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    /// OPTIONAL. Read operations per second, per device.
    #[serde(
        rename = "throttleReadIOPSDevice",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    /// OPTIONAL. Write operations per second, per device.
    #[serde(
        rename = "throttleWriteIOPSDevice",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A block I/O weight for one device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WeightDevice {
    /// REQUIRED. Major number.
    pub major: i64,
    /// REQUIRED. Minor number.
    pub minor: i64,
    /// OPTIONAL. Weight, 10 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// OPTIONAL. Leaf weight, 10 to 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A block I/O rate limit for one device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThrottleDevice {
    /// REQUIRED. Major number.
    pub major: i64,
    /// REQUIRED. Minor number.
    pub minor: i64,
    /// OPTIONAL in the schema, REQUIRED by the prose. Bytes or operations
    /// per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A huge page limit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HugepageLimit {
    /// REQUIRED. Page size, matching `^[1-9][0-9]*[KMG]B$` (`2MB`, `64KB`).
    pub page_size: String,
    /// REQUIRED. Limit in bytes.
    pub limit: u64,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl HugepageLimit {
    /// A limit of `limit` bytes of `page_size` pages.
    pub fn new(page_size: impl Into<String>, limit: u64) -> Self {
        HugepageLimit {
            page_size: page_size.into(),
            limit,
            extra: BTreeMap::new(),
        }
    }
}

/// Network class and interface priorities (cgroup v1 `net_cls`/`net_prio`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Network {
    /// OPTIONAL. The class ID to tag packets with.
    #[serde(rename = "classID", default, skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u32>,
    /// OPTIONAL. Priorities per interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<InterfacePriority>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The priority of one network interface.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InterfacePriority {
    /// REQUIRED. The interface name.
    pub name: String,
    /// REQUIRED. The priority.
    pub priority: u32,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The process count limit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pids {
    /// REQUIRED. Maximum number of tasks; 0 or less means unlimited.
    pub limit: i64,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Pids {
    /// A limit of `limit` tasks.
    pub fn new(limit: i64) -> Self {
        Pids {
            limit,
            extra: BTreeMap::new(),
        }
    }
}

/// RDMA limits for one device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Rdma {
    /// OPTIONAL. Maximum HCA handles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hca_handles: Option<u32>,
    /// OPTIONAL. Maximum HCA objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hca_objects: Option<u32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Intel RDT configuration (resctrl).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IntelRdt {
    /// OPTIONAL. The resctrl class of service (a directory name).
    #[serde(rename = "closID", default, skip_serializing_if = "Option::is_none")]
    pub clos_id: Option<String>,
    /// OPTIONAL. Lines of the `schemata` file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemata: Vec<String>,
    /// OPTIONAL, DEPRECATED in favour of `schemata`. The L3 cache schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l3_cache_schema: Option<String>,
    /// OPTIONAL, DEPRECATED in favour of `schemata`. The memory bandwidth
    /// schema, starting with `MB:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_bw_schema: Option<String>,
    /// OPTIONAL. Enable resctrl monitoring.
    #[serde(default, skip_serializing_if = "is_default")]
    pub enable_monitoring: bool,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A seccomp filter (`config-linux.md`, "Seccomp").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Seccomp {
    /// REQUIRED. The action for system calls no rule matches.
    pub default_action: SeccompAction,
    /// OPTIONAL. The errno returned by the default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// OPTIONAL. Architectures the filter applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<SeccompArch>,
    /// OPTIONAL. Flags for seccomp(2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<SeccompFlag>,
    /// OPTIONAL. Unix socket the runtime sends the notify file descriptor
    /// and container state to, when an action is `SCMP_ACT_NOTIFY`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub listener_path: String,
    /// OPTIONAL. Opaque data passed to the listener.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub listener_metadata: String,
    /// OPTIONAL. Rules, matched in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syscalls: Vec<Syscall>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Seccomp {
    /// A filter with `default_action` and no rules.
    pub fn new(default_action: SeccompAction) -> Self {
        Seccomp {
            default_action,
            default_errno_ret: None,
            architectures: Vec::new(),
            flags: Vec::new(),
            listener_path: String::new(),
            listener_metadata: String::new(),
            syscalls: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// One seccomp rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Syscall {
    /// REQUIRED. System call names; at least one.
    pub names: Vec<String>,
    /// REQUIRED. The action when the rule matches.
    pub action: SeccompAction,
    /// OPTIONAL. The errno returned by `SCMP_ACT_ERRNO`/`SCMP_ACT_TRACE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// OPTIONAL. Conditions on the arguments, all of which must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SyscallArg>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Syscall {
    /// A rule applying `action` to `names`.
    pub fn new(names: Vec<String>, action: SeccompAction) -> Self {
        Syscall {
            names,
            action,
            errno_ret: None,
            args: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// A condition on one system call argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SyscallArg {
    /// REQUIRED. The argument's index.
    pub index: u32,
    /// REQUIRED. The value to compare with.
    pub value: u64,
    /// OPTIONAL. The second value, for `SCMP_CMP_MASKED_EQ`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub value_two: u64,
    /// REQUIRED. The comparison.
    pub op: SeccompOperator,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl SyscallArg {
    /// Argument `index` compared with `value` by `op`.
    pub fn new(index: u32, value: u64, op: SeccompOperator) -> Self {
        SyscallArg {
            index,
            value,
            value_two: 0,
            op,
            extra: BTreeMap::new(),
        }
    }
}

open_enum! {
    /// A seccomp action; the schema closes this set.
    pub enum SeccompAction {
        Kill => "SCMP_ACT_KILL",
        KillProcess => "SCMP_ACT_KILL_PROCESS",
        KillThread => "SCMP_ACT_KILL_THREAD",
        Trap => "SCMP_ACT_TRAP",
        Errno => "SCMP_ACT_ERRNO",
        Trace => "SCMP_ACT_TRACE",
        Allow => "SCMP_ACT_ALLOW",
        Log => "SCMP_ACT_LOG",
        Notify => "SCMP_ACT_NOTIFY",
    }
}

open_enum! {
    /// A seccomp comparison operator; the schema closes this set.
    pub enum SeccompOperator {
        NotEqual => "SCMP_CMP_NE",
        LessThan => "SCMP_CMP_LT",
        LessOrEqual => "SCMP_CMP_LE",
        Equal => "SCMP_CMP_EQ",
        GreaterOrEqual => "SCMP_CMP_GE",
        GreaterThan => "SCMP_CMP_GT",
        MaskedEqual => "SCMP_CMP_MASKED_EQ",
    }
}

open_enum! {
    /// A seccomp architecture; the schema closes this set.
    pub enum SeccompArch {
        X86 => "SCMP_ARCH_X86",
        X86_64 => "SCMP_ARCH_X86_64",
        X32 => "SCMP_ARCH_X32",
        Arm => "SCMP_ARCH_ARM",
        Aarch64 => "SCMP_ARCH_AARCH64",
        Loongarch64 => "SCMP_ARCH_LOONGARCH64",
        M68k => "SCMP_ARCH_M68K",
        Mips => "SCMP_ARCH_MIPS",
        Mips64 => "SCMP_ARCH_MIPS64",
        Mips64n32 => "SCMP_ARCH_MIPS64N32",
        Mipsel => "SCMP_ARCH_MIPSEL",
        Mipsel64 => "SCMP_ARCH_MIPSEL64",
        Mipsel64n32 => "SCMP_ARCH_MIPSEL64N32",
        Ppc => "SCMP_ARCH_PPC",
        Ppc64 => "SCMP_ARCH_PPC64",
        Ppc64le => "SCMP_ARCH_PPC64LE",
        S390 => "SCMP_ARCH_S390",
        S390x => "SCMP_ARCH_S390X",
        Sh => "SCMP_ARCH_SH",
        Sheb => "SCMP_ARCH_SHEB",
        Parisc => "SCMP_ARCH_PARISC",
        Parisc64 => "SCMP_ARCH_PARISC64",
        Riscv64 => "SCMP_ARCH_RISCV64",
    }
}

open_enum! {
    /// A seccomp filter flag; the schema closes this set.
    pub enum SeccompFlag {
        Tsync => "SECCOMP_FILTER_FLAG_TSYNC",
        Log => "SECCOMP_FILTER_FLAG_LOG",
        SpecAllow => "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        WaitKillableRecv => "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    }
}

open_enum! {
    /// Mount propagation of the root filesystem; the schema closes this set.
    pub enum RootfsPropagation {
        Private => "private",
        Shared => "shared",
        Slave => "slave",
        Unbindable => "unbindable",
    }
}

/// The execution domain of the container process (personality(2)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Personality {
    /// OPTIONAL in the schema, REQUIRED by the prose. The domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<PersonalityDomain>,
    /// OPTIONAL. Additional flags (none are defined yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

open_enum! {
    /// An execution domain; the schema closes this set.
    pub enum PersonalityDomain {
        Linux => "LINUX",
        Linux32 => "LINUX32",
    }
}

/// A NUMA memory policy (set_mempolicy(2)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryPolicy {
    /// OPTIONAL in the schema, REQUIRED by the prose. The policy mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<MemoryPolicyMode>,
    /// OPTIONAL. The NUMA nodes (`0-3,7`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nodes: String,
    /// OPTIONAL. Mode flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<MemoryPolicyFlag>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

open_enum! {
    /// A memory policy mode; the schema closes this set.
    pub enum MemoryPolicyMode {
        Default => "MPOL_DEFAULT",
        Bind => "MPOL_BIND",
        Interleave => "MPOL_INTERLEAVE",
        WeightedInterleave => "MPOL_WEIGHTED_INTERLEAVE",
        Preferred => "MPOL_PREFERRED",
        PreferredMany => "MPOL_PREFERRED_MANY",
        Local => "MPOL_LOCAL",
    }
}

open_enum! {
    /// A memory policy flag; the schema closes this set.
    pub enum MemoryPolicyFlag {
        NumaBalancing => "MPOL_F_NUMA_BALANCING",
        RelativeNodes => "MPOL_F_RELATIVE_NODES",
        StaticNodes => "MPOL_F_STATIC_NODES",
    }
}

/// Whether `s` matches `^[1-9][0-9]*[KMG]B$`.
fn is_page_size(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && matches!(b[0], b'1'..=b'9')
        && b[1..b.len() - 2].iter().all(u8::is_ascii_digit)
        && matches!(b[b.len() - 2], b'K' | b'M' | b'G')
        && b[b.len() - 1] == b'B'
}

fn key_path(key: &str) -> String {
    format!("[{key:?}]")
}

impl Linux {
    pub(crate) fn check(&self, v: &mut Validator) {
        v.field("namespaces", |v| {
            for (i, ns) in self.namespaces.iter().enumerate() {
                v.index(i, |v| {
                    v.field("type", |v| {
                        ns.kind.check_known(v);
                        if ns.kind.is_known()
                            && self.namespaces[..i].iter().any(|p| p.kind == ns.kind)
                        {
                            v.report(
                                "a namespace type not listed before",
                                format!("{:?}", ns.kind.as_str()),
                            );
                        }
                    });
                });
            }
        });
        check_mappings(v, "uidMappings", &self.uid_mappings);
        check_mappings(v, "gidMappings", &self.gid_mappings);
        if let Some(t) = &self.time_offsets {
            v.field("timeOffsets", |v| {
                for (name, o) in [("boottime", &t.boottime), ("monotonic", &t.monotonic)] {
                    if let Some(o) = o {
                        if o.nanosecs >= 1_000_000_000 {
                            v.field(name, |v| {
                                v.report_field(
                                    "nanosecs",
                                    "less than 1000000000",
                                    o.nanosecs.to_string(),
                                )
                            });
                        }
                    }
                }
            });
        }
        v.field("devices", |v| {
            for (i, d) in self.devices.iter().enumerate() {
                v.index(i, |v| d.check(v));
            }
        });
        if let Some(r) = &self.resources {
            v.field("resources", |v| r.check(v));
        }
        if let Some(r) = &self.intel_rdt {
            if let Some(mb) = &r.mem_bw_schema {
                if !mb.starts_with("MB:") || mb.contains('\n') {
                    v.field("intelRdt", |v| {
                        v.report_field("memBwSchema", "`MB:` and no newline", format!("{mb:?}"))
                    });
                }
            }
        }
        if let Some(s) = &self.seccomp {
            v.field("seccomp", |v| s.check(v));
        }
        if let Some(p) = &self.rootfs_propagation {
            v.field("rootfsPropagation", |v| p.check_known(v));
        }
        if let Some(p) = &self.personality {
            if let Some(d) = &p.domain {
                v.field("personality", |v| v.field("domain", |v| d.check_known(v)));
            }
        }
        if let Some(m) = &self.memory_policy {
            v.field("memoryPolicy", |v| {
                if let Some(mode) = &m.mode {
                    v.field("mode", |v| mode.check_known(v));
                }
                v.field("flags", |v| {
                    for (i, f) in m.flags.iter().enumerate() {
                        v.index(i, |v| f.check_known(v));
                    }
                });
            });
        }
    }
}

impl Device {
    fn check(&self, v: &mut Validator) {
        if !matches!(self.kind.as_str(), "c" | "b" | "u" | "p") {
            v.report_field(
                "type",
                "one of `c`, `b`, `u`, `p`",
                format!("{:?}", self.kind),
            );
        }
        if !is_absolute(&self.path) {
            v.report_field("path", "an absolute path", format!("{:?}", self.path));
        }
        if let Some(m) = self.file_mode {
            // Permission bits, optionally with the st_mode type bits of the
            // device's kind (podman and crun write the whole st_mode, runc
            // accepts it).
            const S_IFMT: u32 = 0o170_000;
            let kind_bits = match self.kind.as_str() {
                "c" | "u" => Some(0o020_000),
                "b" => Some(0o060_000),
                "p" => Some(0o010_000),
                _ => None,
            };
            let type_bits = m & S_IFMT;
            if m & !S_IFMT > 0o777 || (type_bits != 0 && Some(type_bits) != kind_bits) {
                v.report_field(
                    "fileMode",
                    "permission bits of at most 0o777, optionally with the device kind's file type bits",
                    format!("{m:#o}"),
                );
            }
        }
        if matches!(self.kind.as_str(), "c" | "b" | "u") {
            if self.major.is_none() {
                v.report_field(
                    "major",
                    "a major number for a `c`, `b` or `u` device",
                    "none",
                );
            }
            if self.minor.is_none() {
                v.report_field(
                    "minor",
                    "a minor number for a `c`, `b` or `u` device",
                    "none",
                );
            }
        }
    }
}

impl Resources {
    fn check(&self, v: &mut Validator) {
        v.field("hugepageLimits", |v| {
            for (i, h) in self.hugepage_limits.iter().enumerate() {
                if !is_page_size(&h.page_size) {
                    v.index(i, |v| {
                        v.report_field(
                            "pageSize",
                            "a size matching `^[1-9][0-9]*[KMG]B$`",
                            format!("{:?}", h.page_size),
                        )
                    });
                }
            }
        });
        if let Some(m) = &self.memory {
            if let Some(s) = m.swappiness {
                if s > 100 {
                    v.field("memory", |v| {
                        v.report_field("swappiness", "0 to 100", s.to_string())
                    });
                }
            }
        }
        for (key, _) in self.rdma.iter().filter(|(k, _)| k.is_empty()) {
            v.field("rdma", |v| {
                v.at(key_path(key), |v| {
                    v.report("a non-empty device name", "\"\"")
                })
            });
        }
    }
}

impl Seccomp {
    fn check(&self, v: &mut Validator) {
        v.field("defaultAction", |v| self.default_action.check_known(v));
        v.field("architectures", |v| {
            for (i, a) in self.architectures.iter().enumerate() {
                v.index(i, |v| a.check_known(v));
            }
        });
        v.field("flags", |v| {
            for (i, f) in self.flags.iter().enumerate() {
                v.index(i, |v| f.check_known(v));
            }
        });
        v.field("syscalls", |v| {
            for (i, s) in self.syscalls.iter().enumerate() {
                v.index(i, |v| {
                    if s.names.is_empty() {
                        v.report_field("names", "at least one system call name", "[]");
                    }
                    v.field("action", |v| s.action.check_known(v));
                    v.field("args", |v| {
                        for (j, a) in s.args.iter().enumerate() {
                            v.index(j, |v| v.field("op", |v| a.op.check_known(v)));
                        }
                    });
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes() {
        for ok in ["2MB", "64KB", "1GB", "1024KB"] {
            assert!(is_page_size(ok), "{ok}");
        }
        for bad in ["", "MB", "0MB", "64kB", "2M", "2MiB", "02MB", "2 MB", "2TB"] {
            assert!(!is_page_size(bad), "{bad}");
        }
    }
}
