//! Models of the OCI [runtime-spec] v1.3 documents: a bundle's
//! `config.json` ([`Spec`]), a container's state ([`State`]) and a runtime's
//! features document ([`Features`]).
//!
//! The names here (`Process`, `Mount`, `Linux`, ...) follow the
//! specification and are generic, so they live in this module instead of
//! the crate root: refer to them as `ocikit_types::runtime::Process`.
//!
//! Sets of values the specification leaves open, or that grow with new
//! kernels (namespace types, capabilities, seccomp actions, ...), are enums
//! with an `Other(String)` variant: unknown values parse, are kept as
//! written, and are reported by `validate()` only where the schema closes
//! the set.
//!
//! ```
//! use ocikit_types::Document;
//! use ocikit_types::runtime::{NamespaceType, Spec};
//!
//! // Start from what `runc spec` writes and drop the network namespace.
//! let mut spec = Spec::default_linux();
//! if let Some(linux) = spec.linux.as_mut() {
//!     linux.namespaces.retain(|ns| ns.kind != NamespaceType::Network);
//! }
//! spec.validate()?;
//! let bytes = spec.to_canonical_vec();
//! assert_eq!(Spec::from_slice_validated(&bytes)?, spec);
//! # Ok::<(), ocikit_types::Error>(())
//! ```
//!
//! [runtime-spec]: https://github.com/opencontainers/runtime-spec

/// Declares an open enum: known spellings as variants plus `Other(String)`,
/// converted to and from its string form (also by serde).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $variant:ident => $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        ///
        /// Parsing never fails: a spelling this crate does not know becomes
        /// `Other`, so build values with `parse`/`From` rather than by writing
        /// `Other` with a known spelling.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", $s, "`.")]
                $variant,
            )+
            /// A value this crate does not know, kept as written.
            Other(String),
        }

        impl $name {
            /// Every value this crate knows, in specification order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in documents.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $s, )+
                    $name::Other(s) => s,
                }
            }

            /// False for `Other`.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }

            /// Reports `Other` values at the validator's current path.
            #[allow(dead_code)]
            pub(crate) fn check_known(&self, v: &mut $crate::error::Validator) {
                if let $name::Other(s) = self {
                    let known: Vec<String> =
                        $name::KNOWN.iter().map(|k| format!("`{k}`")).collect();
                    v.report(format!("one of {}", known.join(", ")), format!("{s:?}"));
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $s => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $s => $name::$variant, )+
                    _ => $name::Other(s),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d).map($name::from)
            }
        }
    };
}

mod defaults;
mod features;
mod file;
mod linux;
mod other_os;
mod spec;
mod state;
#[cfg(test)]
mod tests;

pub use features::{
    CgroupFeatures, Features, LinuxFeatures, MountExtensions, SeccompFeatures, Support,
};
pub use linux::{
    BlockIo, Cpu, Device, DeviceCgroup, HugepageLimit, IntelRdt, InterfacePriority, Linux, Memory,
    MemoryPolicy, MemoryPolicyFlag, MemoryPolicyMode, Namespace, NamespaceType, NetDevice, Network,
    Personality, PersonalityDomain, Pids, Rdma, Resources, RootfsPropagation, Seccomp,
    SeccompAction, SeccompArch, SeccompFlag, SeccompOperator, Syscall, SyscallArg, ThrottleDevice,
    TimeOffset, TimeOffsets, WeightDevice,
};
pub use other_os::{
    Anet, CappedCpu, CappedMemory, FreeBsd, FreeBsdDevice, HyperV, Jail, JailAllow, SharingMode,
    Solaris, Vm, VmHwConfig, VmHypervisor, VmImage, VmImageFormat, VmIoMem, VmKernel, Windows,
    WindowsCpu, WindowsCpuAffinity, WindowsDevice, WindowsMemory, WindowsNetwork, WindowsResources,
    WindowsStorage, Zos, ZosNamespace,
};
pub use spec::{
    Capabilities, Capability, ConsoleSize, ExecCpuAffinity, Hook, Hooks, IdMapping, IoPriority,
    IoPriorityClass, Mount, Process, Rlimit, RlimitType, Root, Scheduler, SchedulerFlag,
    SchedulerPolicy, Spec, User,
};
pub use state::{State, Status};

/// The runtime-spec version these models follow.
pub const VERSION: &str = "1.3.0";

/// Whether `s` follows Semantic Versioning 2.0.0 (`MAJOR.MINOR.PATCH`, an
/// optional `-pre.release` and an optional `+build.metadata`).
pub(crate) fn is_semver(s: &str) -> bool {
    let (rest, build) = match s.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (s, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let ident_ok =
        |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let numeric_ok = |id: &str| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && (id == "0" || !id.starts_with('0'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 || !parts.iter().all(|p| numeric_ok(p)) {
        return false;
    }
    if let Some(pre) = pre {
        let ok = pre
            .split('.')
            .all(|id| ident_ok(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || numeric_ok(id)));
        if !ok {
            return false;
        }
    }
    build.is_none_or(|b| b.split('.').all(ident_ok))
}

/// Whether `s` is an absolute path: POSIX (`/...`) or Windows (`C:\...`,
/// `C:/...`, `\\server\...`).
pub(crate) fn is_absolute(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() == Some(&b'/')
        || s.starts_with("\\\\")
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}

/// For `skip_serializing_if`: the value equals its type's default.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Checks that `s` is a semver version string, reporting at `field`.
pub(crate) fn check_version(v: &mut crate::error::Validator, field: &str, s: &str) {
    if !is_semver(s) {
        v.report_field(field, "a SemVer 2.0.0 version", format!("{s:?}"));
    }
}

/// Checks that no annotation key is empty (config.md, "Annotations").
pub(crate) fn check_annotations(
    v: &mut crate::error::Validator,
    annotations: &std::collections::BTreeMap<String, String>,
) {
    if annotations.contains_key("") {
        v.field("annotations", |v| {
            v.at("[\"\"]", |v| v.report("a non-empty key", "\"\""))
        });
    }
}
