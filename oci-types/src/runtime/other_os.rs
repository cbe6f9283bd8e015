//! Configuration for Windows, Solaris, virtual machines, z/OS and FreeBSD
//! (runtime-spec `config-windows.md`, `config-solaris.md`, `config-vm.md`,
//! `config-zos.md`, `config-freebsd.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{is_absolute, is_default, NamespaceType};
use crate::error::Validator;

/// Windows-specific configuration (`config-windows.md`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Windows {
    /// REQUIRED. Layer folders, the base image's last; at least one.
    pub layer_folders: Vec<String>,
    /// OPTIONAL. Devices to assign to the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<WindowsDevice>,
    /// OPTIONAL. Resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<WindowsResources>,
    /// OPTIONAL. Network configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<WindowsNetwork>,
    /// OPTIONAL. A credential spec (JSON object) for Active Directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_spec: Option<serde_json::Value>,
    /// OPTIONAL. The container services an OS update.
    #[serde(default, skip_serializing_if = "is_default")]
    pub servicing: bool,
    /// OPTIONAL. Ignore disk flushes during boot.
    #[serde(default, skip_serializing_if = "is_default")]
    pub ignore_flushes_during_boot: bool,
    /// OPTIONAL. Run as a Hyper-V container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyperv: Option<HyperV>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A device assigned to a Windows container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WindowsDevice {
    /// REQUIRED. The device identifier (an interface class GUID).
    pub id: String,
    /// REQUIRED. The kind of identifier; MUST be `class`.
    pub id_type: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Windows resource limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowsResources {
    /// OPTIONAL. Memory limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<WindowsMemory>,
    /// OPTIONAL. CPU limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<WindowsCpu>,
    /// OPTIONAL. Storage limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<WindowsStorage>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Windows memory limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowsMemory {
    /// OPTIONAL. Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Windows CPU limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowsCpu {
    /// OPTIONAL. Number of CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// OPTIONAL. Relative weight, 0 to 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u16>,
    /// OPTIONAL. Percentage of CPU cycles times 100, 1 to 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<u16>,
    /// OPTIONAL. Processor group affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<WindowsCpuAffinity>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A processor group affinity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WindowsCpuAffinity {
    /// OPTIONAL. Processor mask within the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<u64>,
    /// OPTIONAL. The processor group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Windows storage limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WindowsStorage {
    /// OPTIONAL. I/O operations per second of the system drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<u64>,
    /// OPTIONAL. Bytes per second of the system drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bps: Option<u64>,
    /// OPTIONAL. Minimum size of the system drive in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_size: Option<u64>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Windows network configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WindowsNetwork {
    /// OPTIONAL. HNS endpoint IDs to attach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_list: Vec<String>,
    /// OPTIONAL. Allow unqualified DNS names.
    #[serde(
        rename = "allowUnqualifiedDNSQuery",
        default,
        skip_serializing_if = "is_default"
    )]
    pub allow_unqualified_dns_query: bool,
    /// OPTIONAL. DNS suffixes to search.
    #[serde(
        rename = "DNSSearchList",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dns_search_list: Vec<String>,
    /// OPTIONAL. A container whose network stack to share.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_shared_container_name: String,
    /// OPTIONAL. The HNS network namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub network_namespace: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Hyper-V isolation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HyperV {
    /// OPTIONAL. Path to the utility VM image.
    #[serde(
        rename = "utilityVMPath",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub utility_vm_path: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Solaris-specific configuration (`config-solaris.md`). Values are
/// strings in zonecfg(1M) syntax.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Solaris {
    /// OPTIONAL. SMF FMRI to wait for before starting the process.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub milestone: String,
    /// OPTIONAL. Maximum privileges of the zone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limitpriv: String,
    /// OPTIONAL. Maximum shared memory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_shm_memory: String,
    /// OPTIONAL. CPU cap.
    #[serde(rename = "cappedCPU", default, skip_serializing_if = "Option::is_none")]
    pub capped_cpu: Option<CappedCpu>,
    /// OPTIONAL. Memory caps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capped_memory: Option<CappedMemory>,
    /// OPTIONAL. Automatic network interfaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anet: Vec<Anet>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A Solaris CPU cap.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CappedCpu {
    /// OPTIONAL. Number of CPUs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ncpus: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Solaris memory caps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CappedMemory {
    /// OPTIONAL. Physical memory cap.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub physical: String,
    /// OPTIONAL. Swap cap.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub swap: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A Solaris automatic network interface.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Anet {
    /// OPTIONAL. Link name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub linkname: String,
    /// OPTIONAL. The underlying link.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lower_link: String,
    /// OPTIONAL. Allowed addresses.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub allowed_address: String,
    /// OPTIONAL. Configure the allowed addresses (`true`/`false`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub configure_allowed_address: String,
    /// OPTIONAL. Default router.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub defrouter: String,
    /// OPTIONAL. MAC address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    /// OPTIONAL. Link protection.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link_protection: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Configuration for virtual-machine-based containers (`config-vm.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Vm {
    /// OPTIONAL. The hypervisor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<VmHypervisor>,
    /// REQUIRED. The guest kernel.
    pub kernel: VmKernel,
    /// OPTIONAL. The root image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<VmImage>,
    /// OPTIONAL. Hardware configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hw_config: Option<VmHwConfig>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The hypervisor of a VM-based container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VmHypervisor {
    /// REQUIRED. Path to the hypervisor binary; MUST be absolute.
    pub path: String,
    /// OPTIONAL. Hypervisor parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The guest kernel of a VM-based container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VmKernel {
    /// REQUIRED. Path to the kernel; MUST be absolute.
    pub path: String,
    /// OPTIONAL. Kernel command line parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
    /// OPTIONAL. Path to an initial ramdisk; MUST be absolute.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub initrd: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The root image of a VM-based container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VmImage {
    /// REQUIRED. Path to the image; MUST be absolute.
    pub path: String,
    /// REQUIRED. The image format.
    pub format: VmImageFormat,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

open_enum! {
    /// A VM image format; the schema closes this set.
    pub enum VmImageFormat {
        Raw => "raw",
        Qcow2 => "qcow2",
        Vdi => "vdi",
        Vmdk => "vmdk",
        Vhd => "vhd",
    }
}

/// Hardware configuration of a VM-based container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VmHwConfig {
    /// OPTIONAL. Path to a device tree blob; MUST be absolute.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device_tree: String,
    /// OPTIONAL. Number of virtual CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// OPTIONAL. Memory in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// OPTIONAL. Device tree nodes to pass through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dtdevs: Vec<String>,
    /// OPTIONAL. Memory ranges to map into the guest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iomems: Vec<VmIoMem>,
    /// OPTIONAL. Interrupts to pass through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub irqs: Vec<u32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A memory range mapped into the guest, in page frame numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VmIoMem {
    /// OPTIONAL. First guest frame; `firstMFN` when absent.
    #[serde(rename = "firstGFN", default, skip_serializing_if = "Option::is_none")]
    pub first_gfn: Option<u64>,
    /// REQUIRED. First machine frame.
    #[serde(rename = "firstMFN")]
    pub first_mfn: u64,
    /// REQUIRED. Number of frames.
    #[serde(rename = "nrMFNs")]
    pub nr_mfns: u64,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// z/OS-specific configuration (`config-zos.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Zos {
    /// OPTIONAL. Namespaces to create or join: `mount`, `pid`, `uts` or `ipc`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<ZosNamespace>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A z/OS namespace to create, or to join when `path` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ZosNamespace {
    /// REQUIRED. The namespace type: `mount`, `pid`, `uts` or `ipc`.
    #[serde(rename = "type")]
    pub kind: NamespaceType,
    /// OPTIONAL. A namespace to join.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// FreeBSD-specific configuration (`config-freebsd.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FreeBsd {
    /// OPTIONAL. devfs rules exposing devices to the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<FreeBsdDevice>,
    /// OPTIONAL. Jail parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jail: Option<Jail>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A device exposed to a FreeBSD container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FreeBsdDevice {
    /// OPTIONAL. devfs path pattern, relative to `/dev`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// OPTIONAL. Permission bits, 0 to 0o777.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// FreeBSD jail parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Jail {
    /// OPTIONAL. Name of the parent jail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// OPTIONAL. UTS namespace: `new` or `inherit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<SharingMode>,
    /// OPTIONAL. IPv4 networking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip4: Option<SharingMode>,
    /// OPTIONAL. IPv4 addresses, when `ip4` is `new`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip4_addr: Vec<String>,
    /// OPTIONAL. IPv6 networking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<SharingMode>,
    /// OPTIONAL. IPv6 addresses, when `ip6` is `new`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip6_addr: Vec<String>,
    /// OPTIONAL. Virtual network stack: `new` or `inherit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet: Option<SharingMode>,
    /// OPTIONAL. Host interface for `ip4Addr`/`ip6Addr`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    /// OPTIONAL. Interfaces to move into the vnet jail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vnet_interfaces: Vec<String>,
    /// OPTIONAL. System V message queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysvmsg: Option<SharingMode>,
    /// OPTIONAL. System V semaphores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysvsem: Option<SharingMode>,
    /// OPTIONAL. System V shared memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysvshm: Option<SharingMode>,
    /// OPTIONAL. Which mount points `statfs` reveals, 0 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_statfs: Option<u8>,
    /// OPTIONAL. Permissions granted to the jail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<JailAllow>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

open_enum! {
    /// How a jail shares a resource with its parent; the schema closes
    /// this set, and `host` and `vnet` do not accept `disable`.
    pub enum SharingMode {
        Disable => "disable",
        New => "new",
        Inherit => "inherit",
    }
}

/// Permissions granted to a FreeBSD jail (`allow.*` jail parameters).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JailAllow {
    /// OPTIONAL. May set its hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_hostname: Option<bool>,
    /// OPTIONAL. May create raw sockets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_sockets: Option<bool>,
    /// OPTIONAL. May change system file flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chflags: Option<bool>,
    /// OPTIONAL. Filesystem types it may mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount: Vec<String>,
    /// OPTIONAL. May administer quotas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<bool>,
    /// OPTIONAL. May use socket families other than IP, routing and Unix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_af: Option<bool>,
    /// OPTIONAL. May lock memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlock: Option<bool>,
    /// OPTIONAL. May bind reserved ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_ports: Option<bool>,
    /// OPTIONAL. Root in the jail is privileged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suser: Option<bool>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Windows {
    pub(crate) fn check(&self, v: &mut Validator) {
        if self.layer_folders.is_empty() {
            v.report_field("layerFolders", "at least one layer folder", "[]");
        }
        v.field("devices", |v| {
            for (i, d) in self.devices.iter().enumerate() {
                if d.id_type != "class" {
                    v.index(i, |v| {
                        v.report_field("idType", "`class`", format!("{:?}", d.id_type))
                    });
                }
            }
        });
    }
}

fn check_absolute(v: &mut Validator, name: &str, path: &str) {
    if !is_absolute(path) {
        v.report_field(name, "an absolute path", format!("{path:?}"));
    }
}

impl Vm {
    pub(crate) fn check(&self, v: &mut Validator) {
        if let Some(h) = &self.hypervisor {
            v.field("hypervisor", |v| check_absolute(v, "path", &h.path));
        }
        v.field("kernel", |v| {
            check_absolute(v, "path", &self.kernel.path);
            if !self.kernel.initrd.is_empty() {
                check_absolute(v, "initrd", &self.kernel.initrd);
            }
        });
        if let Some(i) = &self.image {
            v.field("image", |v| {
                check_absolute(v, "path", &i.path);
                v.field("format", |v| i.format.check_known(v));
            });
        }
        if let Some(hw) = &self.hw_config {
            if !hw.device_tree.is_empty() {
                v.field("hwConfig", |v| {
                    check_absolute(v, "deviceTree", &hw.device_tree)
                });
            }
        }
    }
}

impl Zos {
    pub(crate) fn check(&self, v: &mut Validator) {
        v.field("namespaces", |v| {
            for (i, ns) in self.namespaces.iter().enumerate() {
                let ok = matches!(
                    ns.kind,
                    NamespaceType::Mount
                        | NamespaceType::Pid
                        | NamespaceType::Uts
                        | NamespaceType::Ipc
                );
                if !ok {
                    v.index(i, |v| {
                        v.report_field(
                            "type",
                            "one of `mount`, `pid`, `uts`, `ipc`",
                            format!("{:?}", ns.kind.as_str()),
                        )
                    });
                }
            }
        });
    }
}

impl FreeBsd {
    pub(crate) fn check(&self, v: &mut Validator) {
        v.field("devices", |v| {
            for (i, d) in self.devices.iter().enumerate() {
                if let Some(m) = d.mode {
                    if m > 0o777 {
                        v.index(i, |v| {
                            v.report_field("mode", "at most 511 (0o777)", m.to_string())
                        });
                    }
                }
            }
        });
        let Some(j) = &self.jail else { return };
        v.field("jail", |v| {
            for (name, mode, disable_ok) in [
                ("host", &j.host, false),
                ("ip4", &j.ip4, true),
                ("ip6", &j.ip6, true),
                ("vnet", &j.vnet, false),
                ("sysvmsg", &j.sysvmsg, true),
                ("sysvsem", &j.sysvsem, true),
                ("sysvshm", &j.sysvshm, true),
            ] {
                let Some(mode) = mode else { continue };
                v.field(name, |v| {
                    if !disable_ok && *mode == SharingMode::Disable {
                        v.report("one of `new`, `inherit`", "\"disable\"");
                    } else {
                        mode.check_known(v);
                    }
                });
            }
        });
    }
}
