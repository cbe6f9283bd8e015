//! What a runtime supports (runtime-spec `features.md`).
//!
//! Here absence and emptiness differ: a missing list or flag means the
//! runtime does not say, an empty list means it supports nothing of that
//! kind. So every optional field is an `Option`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    check_annotations, check_version, Capability, NamespaceType, SeccompAction, SeccompArch,
    SeccompFlag, SeccompOperator,
};
use crate::document::Document;
use crate::error::Validator;
use crate::{DocumentKind, Error};

/// The features document a runtime prints (runtime-spec [`features.md`]).
///
/// ```
/// use ocikit_types::Document;
/// use ocikit_types::runtime::Features;
/// let f = Features::from_slice_validated(br#"{"ociVersionMin":"1.0.0",
///   "ociVersionMax":"1.2.1","linux":{"namespaces":["pid","time"]}}"#)?;
/// assert_eq!(f.linux.unwrap().namespaces.unwrap().len(), 2);
/// assert!(f.hooks.is_none()); // unknown, not "no hooks"
/// # Ok::<(), ocikit_types::Error>(())
/// ```
///
/// [`features.md`]: https://github.com/opencontainers/runtime-spec/blob/main/features.md
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Features {
    /// REQUIRED. The oldest runtime-spec version the runtime supports.
    pub oci_version_min: String,
    /// REQUIRED. The newest runtime-spec version the runtime supports.
    pub oci_version_max: String,
    /// OPTIONAL. Hook names the runtime recognises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Vec<String>>,
    /// OPTIONAL. Mount options the runtime recognises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Vec<String>>,
    /// OPTIONAL. Runtime implementation details (version, commit, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// OPTIONAL. Configuration annotations that may change the runtime's
    /// behaviour; a key ending in `.` is a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub potentially_unsafe_config_annotations: Option<Vec<String>>,
    /// OPTIONAL. Linux-specific features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux: Option<LinuxFeatures>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Features {
    /// Features of a runtime supporting versions `min` to `max`, saying
    /// nothing else.
    pub fn new(min: impl Into<String>, max: impl Into<String>) -> Self {
        Features {
            oci_version_min: min.into(),
            oci_version_max: max.into(),
            ..Features::default()
        }
    }
}

/// Linux-specific features (`features-linux.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LinuxFeatures {
    /// OPTIONAL. Namespace types the runtime supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<NamespaceType>>,
    /// OPTIONAL. Capabilities the runtime recognises (`^CAP_[A-Z_]+$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<Capability>>,
    /// OPTIONAL. Cgroup support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupFeatures>,
    /// OPTIONAL. Seccomp support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompFeatures>,
    /// OPTIONAL. AppArmor support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apparmor: Option<Support>,
    /// OPTIONAL. SELinux support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selinux: Option<Support>,
    /// OPTIONAL. Intel RDT support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<Support>,
    /// OPTIONAL. Mount extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_extensions: Option<MountExtensions>,
    /// OPTIONAL. Support for `linux.netDevices`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_devices: Option<Support>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Whether a feature is compiled in and usable; absent means unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Support {
    /// OPTIONAL. True when the feature is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Cgroup support; each flag absent means unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CgroupFeatures {
    /// OPTIONAL. cgroup v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v1: Option<bool>,
    /// OPTIONAL. cgroup v2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2: Option<bool>,
    /// OPTIONAL. The systemd cgroup driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<bool>,
    /// OPTIONAL. The systemd cgroup driver in user mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_user: Option<bool>,
    /// OPTIONAL. The RDMA controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdma: Option<bool>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Seccomp support.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SeccompFeatures {
    /// OPTIONAL. Seccomp is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// OPTIONAL. Supported actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<SeccompAction>>,
    /// OPTIONAL. Supported operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operators: Option<Vec<SeccompOperator>>,
    /// OPTIONAL. Supported architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archs: Option<Vec<SeccompArch>>,
    /// OPTIONAL. Flags the runtime recognises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_flags: Option<Vec<SeccompFlag>>,
    /// OPTIONAL. Flags the runtime and kernel both support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_flags: Option<Vec<SeccompFlag>>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Mount extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MountExtensions {
    /// OPTIONAL. Idmapped mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idmap: Option<Support>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn check_list<T>(
    v: &mut Validator,
    name: &str,
    list: Option<&Vec<T>>,
    check: impl Fn(&T, &mut Validator),
) {
    if let Some(list) = list {
        v.field(name, |v| {
            for (i, x) in list.iter().enumerate() {
                v.index(i, |v| check(x, v));
            }
        });
    }
}

fn is_capability_name(s: &str) -> bool {
    s.strip_prefix("CAP_")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
}

impl Document for Features {
    const KIND: DocumentKind = DocumentKind::RuntimeFeatures;

    fn validate(&self) -> Result<(), Error> {
        let mut v = Validator::new();
        check_version(&mut v, "ociVersionMin", &self.oci_version_min);
        check_version(&mut v, "ociVersionMax", &self.oci_version_max);
        check_annotations(&mut v, &self.annotations);
        if let Some(l) = &self.linux {
            v.field("linux", |v| {
                check_list(
                    v,
                    "namespaces",
                    l.namespaces.as_ref(),
                    NamespaceType::check_known,
                );
                check_list(v, "capabilities", l.capabilities.as_ref(), |c, v| {
                    if !is_capability_name(c.as_str()) {
                        v.report(
                            "`CAP_` and upper-case letters or `_`",
                            format!("{:?}", c.as_str()),
                        );
                    }
                });
                if let Some(s) = &l.seccomp {
                    v.field("seccomp", |v| {
                        check_list(v, "actions", s.actions.as_ref(), SeccompAction::check_known);
                        check_list(
                            v,
                            "operators",
                            s.operators.as_ref(),
                            SeccompOperator::check_known,
                        );
                        check_list(v, "archs", s.archs.as_ref(), SeccompArch::check_known);
                        check_list(
                            v,
                            "knownFlags",
                            s.known_flags.as_ref(),
                            SeccompFlag::check_known,
                        );
                        check_list(
                            v,
                            "supportedFlags",
                            s.supported_flags.as_ref(),
                            SeccompFlag::check_known,
                        );
                    });
                }
            });
        }
        v.finish(Self::KIND)
    }
}
