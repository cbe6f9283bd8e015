//! What this engine supports, as a runtime-spec features document.

use ocikit_types::runtime::{
    CgroupFeatures, Features, LinuxFeatures, MountExtensions, NamespaceType, SeccompFeatures,
    Support,
};

use super::Runtime;
use crate::sys;

/// The features annotation (runc's) that says whether `checkpoint` and
/// `restore` work.
pub(crate) const CHECKPOINT_ANNOTATION: &str = "org.opencontainers.runc.checkpoint.enabled";

impl Runtime {
    /// What this engine supports, as a runtime-spec `features.md`
    /// document (what `runc features` prints).
    pub fn features() -> Features {
        let mut f = Features::new("1.0.0", ocikit_types::runtime::VERSION);
        f.hooks = Some(
            [
                "prestart",
                "createRuntime",
                "createContainer",
                "startContainer",
                "poststart",
                "poststop",
            ]
            .map(String::from)
            .to_vec(),
        );
        f.mount_options = Some(
            crate::setup::rootfs::KNOWN_OPTIONS
                .iter()
                .chain(crate::setup::rootfs::RECURSIVE_OPTIONS)
                .map(|s| s.to_string())
                .collect(),
        );
        let mut linux = LinuxFeatures::default();
        linux.namespaces = Some(
            [
                NamespaceType::Cgroup,
                NamespaceType::Ipc,
                NamespaceType::Mount,
                NamespaceType::Network,
                NamespaceType::Pid,
                NamespaceType::Time,
                NamespaceType::User,
                NamespaceType::Uts,
            ]
            .to_vec(),
        );
        linux.capabilities = Some(ocikit_types::runtime::Capability::KNOWN.to_vec());
        let mut cg = CgroupFeatures::default();
        cg.v1 = Some(true);
        cg.v2 = Some(true);
        cg.systemd = Some(false);
        cg.systemd_user = Some(false);
        cg.rdma = Some(false);
        linux.cgroup = Some(cg);
        linux.seccomp = Some(seccomp_features());
        let off = || {
            let mut s = Support::default();
            s.enabled = Some(false);
            s
        };
        let host = crate::setup::lsm::HostLsm::probe();
        let support = |enabled| {
            let mut s = Support::default();
            s.enabled = Some(enabled);
            s
        };
        // Labels are applied where the host enforces the module.
        linux.apparmor = Some(support(host.apparmor));
        linux.selinux = Some(support(host.selinux));
        linux.intel_rdt = Some(off());
        let mut net_devices = Support::default();
        net_devices.enabled = Some(true);
        linux.net_devices = Some(net_devices);
        // runtime-spec features-linux.md, "MemoryPolicy".
        let names = |v: &[&str]| serde_json::Value::from(v.to_vec());
        linux.extra.insert(
            "memoryPolicy".into(),
            serde_json::json!({
                "modes": names(&ocikit_types::runtime::MemoryPolicyMode::KNOWN
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()),
                "flags": names(&ocikit_types::runtime::MemoryPolicyFlag::KNOWN
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()),
            }),
        );
        let mut me = MountExtensions::default();
        let mut idmap = Support::default();
        idmap.enabled = Some(true);
        me.idmap = Some(idmap);
        linux.mount_extensions = Some(me);
        f.linux = Some(linux);
        // runc's annotation, read by tools deciding whether to offer
        // checkpoint/restore: this engine does not implement it.
        f.annotations
            .insert(CHECKPOINT_ANNOTATION.into(), "false".into());
        f
    }
}

/// What `linux.seccomp` supports: every action and operator, every
/// architecture the engine has syscall tables for (each filtered by its
/// own numbers), and the filter flags, of which
/// `supportedFlags` are those this kernel takes.
fn seccomp_features() -> SeccompFeatures {
    use crate::setup::seccomp::FLAG_WAIT_KILLABLE_RECV;
    use crate::setup::seccomp::{FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW, FLAG_TSYNC};
    use ocikit_types::runtime::{SeccompAction, SeccompFlag, SeccompOperator};
    let mut s = SeccompFeatures::default();
    if !crate::setup::seccomp::host_supported() {
        s.enabled = Some(false);
        return s;
    }
    s.enabled = Some(true);
    s.actions = Some(vec![
        SeccompAction::Kill,
        SeccompAction::KillProcess,
        SeccompAction::KillThread,
        SeccompAction::Trap,
        SeccompAction::Errno,
        SeccompAction::Trace,
        SeccompAction::Allow,
        SeccompAction::Log,
        SeccompAction::Notify,
    ]);
    s.operators = Some(vec![
        SeccompOperator::NotEqual,
        SeccompOperator::LessThan,
        SeccompOperator::LessOrEqual,
        SeccompOperator::Equal,
        SeccompOperator::GreaterOrEqual,
        SeccompOperator::GreaterThan,
        SeccompOperator::MaskedEqual,
    ]);
    s.archs = Some(crate::setup::seccomp::architectures());
    let flags = [
        (SeccompFlag::Tsync, FLAG_TSYNC),
        (SeccompFlag::Log, FLAG_LOG),
        (SeccompFlag::SpecAllow, FLAG_SPEC_ALLOW),
        // Only valid together with NEW_LISTENER, so probed with it.
        (
            SeccompFlag::WaitKillableRecv,
            FLAG_WAIT_KILLABLE_RECV | FLAG_NEW_LISTENER,
        ),
    ];
    s.known_flags = Some(flags.iter().map(|(f, _)| f.clone()).collect());
    s.supported_flags = Some(
        flags
            .iter()
            .filter(|(_, bits)| sys::seccomp_flag_supported(*bits))
            .map(|(f, _)| f.clone())
            .collect(),
    );
    s
}
