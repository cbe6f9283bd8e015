//! Setting up the container's root filesystem inside its new mount
//! namespace: propagation, config mounts, devices, masked and read-only
//! paths, pivot_root.
//!
//! Every path inside the rootfs goes through [`Syscalls::resolve`], which
//! resolves it as if the rootfs were `/` (openat2 `RESOLVE_IN_ROOT`) and
//! holds it open; mounts then target `/proc/self/fd/N`, so a symlink in the
//! rootfs can never redirect a mount to the host. After a mount the path is
//! resolved again before it is remounted, because the open handle still
//! names the mount underneath.

use std::io;
use std::path::{Path, PathBuf};

use ocikit_types::runtime::{Mount, RootfsPropagation, Spec};

use crate::cgroup::CgroupBind;
use crate::setup::error::{SetupError, Step};
use crate::sys::syscalls::*;

use crate::setup::rootfs::cgroupfs::mount_cgroup;
use crate::setup::rootfs::devices::create_devices;
use crate::setup::rootfs::masked::{make_readonly, mask};

mod cgroupfs;
mod devices;
mod idmap;
mod masked;
mod recursive;
mod special;
pub(crate) use crate::setup::rootfs::idmap::{idmap_requests, idmapped_tree};
pub(crate) use crate::setup::rootfs::recursive::RECURSIVE_OPTIONS;
use crate::setup::rootfs::recursive::{Parsed, RecursiveAttrs};

/// How the init enters the rootfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
// `PivotRoot` names the system call, not the enum.
#[allow(clippy::enum_variant_names)]
pub(crate) enum Pivot {
    /// pivot_root(2), detaching the old root (the default).
    PivotRoot,
    /// MS_MOVE then chroot, for roots on ramfs (`--no-pivot`).
    MoveRoot,
    /// chroot only, the host's propagation untouched: the container has
    /// no mount namespace of its own and shares the runtime's.
    Chroot,
}

/// What the rootfs setup needs besides the spec.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RootfsOptions {
    pub(crate) rootfs: PathBuf,
    pub(crate) bundle: PathBuf,
    pub(crate) pivot: Pivot,
    pub(crate) userns: bool,
    /// Pure cgroup v2 host: a `cgroup` mount becomes cgroup2.
    pub(crate) cgroup_v2: bool,
    pub(crate) cgroup_binds: Vec<CgroupBind>,
    /// For idmapped mounts: (index in `mounts`, detached idmapped mount),
    /// made by stage 1 on the host (where it is privileged over the
    /// filesystem, which a container's user namespace is not) and
    /// inherited by stage 2 through the clone, so never sent over the
    /// socket.
    #[serde(skip)]
    pub(crate) idmapped: Vec<(usize, std::os::fd::RawFd)>,
}

/// Mount options split into what mount(2) needs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct MountOptions {
    pub(crate) flags: u64,
    pub(crate) propagation: u64,
    pub(crate) data: Vec<String>,
    /// runc's `tmpcopyup` extension: a tmpfs starts with a copy of the
    /// directory it covers (podman asks it for `--tmpfs` and
    /// `--read-only`).
    pub(crate) copy_up: bool,
    /// The recursive options (`rro`, `rnosuid`, ...), applied with
    /// mount_setattr(2) after the mount.
    pub(crate) recursive: RecursiveAttrs,
    /// Options written as recursive ones that no call applies
    /// recursively (`rsync`, `rremount`); the mount is refused.
    pub(crate) unsupported: Vec<String>,
}

/// The mount options [`parse_options`] turns into flags (the recursive
/// ones are in [`RECURSIVE_OPTIONS`]).
pub(crate) const KNOWN_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ridmap",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// Parses fstab-style options as runc does: known words become flags,
/// recursive ones mount attributes, the rest is passed to the filesystem
/// as data.
pub(crate) fn parse_options(options: &[String]) -> MountOptions {
    let mut o = MountOptions::default();
    for opt in options {
        match o.recursive.add(opt) {
            Parsed::Recursive => continue,
            Parsed::Unsupported => {
                o.unsupported.push(opt.clone());
                continue;
            }
            Parsed::Other => {}
        }
        let (set, clear) = match opt.as_str() {
            "ro" => (MS_RDONLY, 0),
            "rw" => (0, MS_RDONLY),
            "nosuid" => (MS_NOSUID, 0),
            "suid" => (0, MS_NOSUID),
            "nodev" => (MS_NODEV, 0),
            "dev" => (0, MS_NODEV),
            "noexec" => (MS_NOEXEC, 0),
            "exec" => (0, MS_NOEXEC),
            "sync" => (MS_SYNCHRONOUS, 0),
            "async" => (0, MS_SYNCHRONOUS),
            "dirsync" => (MS_DIRSYNC, 0),
            "remount" => (MS_REMOUNT, 0),
            "mand" => (MS_MANDLOCK, 0),
            "nomand" => (0, MS_MANDLOCK),
            "atime" => (0, MS_NOATIME),
            "noatime" => (MS_NOATIME, 0),
            "diratime" => (0, MS_NODIRATIME),
            "nodiratime" => (MS_NODIRATIME, 0),
            "relatime" => (MS_RELATIME, 0),
            "norelatime" => (0, MS_RELATIME),
            "strictatime" => (MS_STRICTATIME, 0),
            "nostrictatime" => (0, MS_STRICTATIME),
            // Handled by the idmapped mount itself (see `IdmapRequest`).
            "idmap" | "ridmap" => continue,
            "bind" => (MS_BIND, 0),
            "rbind" => (MS_BIND | MS_REC, 0),
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                let rec = if opt.starts_with('r') { MS_REC } else { 0 };
                o.propagation = rec
                    | match opt.trim_start_matches('r') {
                        "private" => MS_PRIVATE,
                        "shared" => MS_SHARED,
                        "slave" => MS_SLAVE,
                        _ => MS_UNBINDABLE,
                    };
                continue;
            }
            "tmpcopyup" => {
                o.copy_up = true;
                continue;
            }
            _ => {
                o.data.push(opt.clone());
                continue;
            }
        };
        o.flags = (o.flags | set) & !clear;
    }
    o
}

fn propagation_flag(p: &RootfsPropagation) -> u64 {
    match p {
        RootfsPropagation::Private => MS_PRIVATE,
        RootfsPropagation::Shared => MS_SHARED,
        RootfsPropagation::Unbindable => MS_UNBINDABLE,
        _ => MS_SLAVE,
    }
}

/// Everything before entering the root: propagation, the rootfs bind,
/// config mounts, devices, masked and read-only paths, sysctls, hostname.
#[cfg(test)]
pub(crate) fn prepare(
    sys: &dyn Syscalls,
    spec: &Spec,
    opts: &RootfsOptions,
) -> Result<(), SetupError> {
    prepare_joining_net(sys, spec, opts, &mut || Ok(()))
}

/// Sets up the rootfs before the root is entered: the mounts of the
/// config in order, devices, masked and read-only paths, sysctls,
/// hostname. `join_net` runs once, before the first step that depends on
/// the network namespace (a `sysfs` mount shows that namespace's devices;
/// `net.*` sysctls): the init may still be making the namespace while
/// the mounts before it go on.
pub(crate) fn prepare_joining_net(
    sys: &dyn Syscalls,
    spec: &Spec,
    opts: &RootfsOptions,
    join_net: &mut dyn FnMut() -> io::Result<()>,
) -> Result<(), SetupError> {
    let mut join_net = Some(join_net);
    let mut net_ready = move || -> Result<(), SetupError> {
        match join_net.take() {
            Some(f) => f().step(|| "join the container's network namespace".into()),
            None => Ok(()),
        }
    };
    let root = opts.rootfs.as_path();
    let linux = spec.linux.clone().unwrap_or_default();
    // Nothing we mount may leak to the host: slave (or private if the
    // config asks private or unbindable, but never shared at this point)
    // for the whole tree. Unbindable waits until `enter`: the rootfs
    // below could not be bound onto itself.
    let prop = match &linux.rootfs_propagation {
        Some(RootfsPropagation::Private | RootfsPropagation::Unbindable) => MS_PRIVATE,
        _ => MS_SLAVE,
    };
    // Without a mount namespace of its own / is the runtime's: left as it
    // is, and everything below goes under the rootfs bind that `delete`
    // detaches.
    if opts.pivot != Pivot::Chroot {
        sys.mount(None, Path::new("/"), None, prop | MS_REC, None)
            .step(|| "make / a slave mount".into())?;
    }
    // pivot_root needs the new root to be a mount point.
    sys.mount(Some(root), root, None, MS_BIND | MS_REC, None)
        .step(|| format!("bind rootfs {} onto itself", root.display()))?;

    for (i, m) in spec.mounts.iter().enumerate() {
        let tree = opts
            .idmapped
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, fd)| *fd);
        if m.kind == "sysfs" {
            net_ready()?;
        }
        check_options(m)?;
        special::check_destination(sys, root, m)?;
        mount_one(sys, m, opts, tree)
            .step(|| format!("mount {} ({}) on {}", m.source, m.kind, m.destination))?;
    }

    net_ready()?;

    let dev_is_tmpfs = spec
        .mounts
        .iter()
        .any(|m| m.destination.trim_end_matches('/') == "/dev" && !is_bind(m));
    if dev_is_tmpfs {
        create_devices(sys, spec, opts)?;
    }

    for path in &linux.masked_paths {
        mask(sys, root, path).step(|| format!("mask {path}"))?;
    }
    for path in &linux.readonly_paths {
        make_readonly(sys, root, path).step(|| format!("make {path} read-only"))?;
    }
    for (key, value) in &linux.sysctl {
        let file = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        sys.write_file(&file, value)
            .step(|| format!("set sysctl {key}"))?;
    }
    if !spec.hostname.is_empty() {
        sys.sethostname(&spec.hostname)
            .step(|| format!("set hostname {}", spec.hostname))?;
    }
    if !spec.domainname.is_empty() {
        sys.setdomainname(&spec.domainname)
            .step(|| format!("set domainname {}", spec.domainname))?;
    }
    if let Some(adj) = spec.process.as_ref().and_then(|p| p.oom_score_adj) {
        sys.write_file(Path::new("/proc/self/oom_score_adj"), &adj.to_string())
            .step(|| format!("set oom_score_adj {adj}"))?;
    }
    Ok(())
}

/// Enters the root and applies what must be done from inside it.
pub(crate) fn enter(
    sys: &dyn Syscalls,
    spec: &Spec,
    opts: &RootfsOptions,
) -> Result<(), SetupError> {
    match opts.pivot {
        Pivot::PivotRoot => sys
            .pivot_root(&opts.rootfs)
            .step(|| format!("pivot_root {}", opts.rootfs.display()))?,
        Pivot::MoveRoot => sys
            .move_root(&opts.rootfs)
            .step(|| format!("move root {}", opts.rootfs.display()))?,
        Pivot::Chroot => sys
            .chroot(&opts.rootfs)
            .step(|| format!("chroot {}", opts.rootfs.display()))?,
    }
    if spec.root.as_ref().is_some_and(|r| r.readonly) {
        sys.mount(
            None,
            Path::new("/"),
            None,
            MS_BIND | MS_REMOUNT | MS_RDONLY,
            None,
        )
        .step(|| "remount / read-only".into())?;
    }
    if let Some(p) = spec
        .linux
        .as_ref()
        .and_then(|l| l.rootfs_propagation.as_ref())
    {
        sys.mount(
            None,
            Path::new("/"),
            None,
            propagation_flag(p) | MS_REC,
            None,
        )
        .step(|| format!("set rootfs propagation {p}"))?;
    }
    Ok(())
}

/// Refuses options the mount would silently drop: words written as
/// recursive options that nothing applies recursively, and filesystem
/// data on a bind mount (which takes none).
fn check_options(m: &Mount) -> Result<(), SetupError> {
    let o = parse_options(&m.options);
    let dropped = if is_bind(m) {
        o.unsupported.iter().chain(&o.data).next()
    } else {
        o.unsupported.first()
    };
    match dropped {
        Some(opt) => Err(SetupError::Invalid {
            field: "mounts[].options",
            expected: "mount options the runtime applies (flags, the recursive \
                       options of runtime-spec 1.1 and, except on a bind mount, \
                       filesystem data)",
            found: format!("{opt:?} on {}", m.destination),
        }),
        None => Ok(()),
    }
}

fn is_bind(m: &Mount) -> bool {
    m.kind == "bind" || m.options.iter().any(|o| o == "bind" || o == "rbind")
}

fn mount_one(
    sys: &dyn Syscalls,
    m: &Mount,
    opts: &RootfsOptions,
    idmapped: Option<std::os::fd::RawFd>,
) -> io::Result<()> {
    let root = opts.rootfs.as_path();
    let o = parse_options(&m.options);
    let data = (!o.data.is_empty()).then(|| o.data.join(","));
    if is_bind(m) {
        let source = opts.bundle.join(&m.source);
        let is_dir = std::fs::metadata(&source)
            .map(|md| md.is_dir())
            .unwrap_or(true);
        let create = if is_dir { Create::Dir } else { Create::File };
        let target = sys.resolve(root, &m.destination, create)?;
        let rec = o.flags & MS_REC;
        if let Some(tree) = idmapped {
            sys.attach_tree(tree, &target.path)?;
        } else {
            sys.mount(Some(&source), &target.path, None, MS_BIND | rec, None)?;
        }
        let rest = o.flags & !(MS_BIND | MS_REC);
        if rest != 0 {
            let target = sys.resolve(root, &m.destination, Create::No)?;
            sys.mount(
                None,
                &target.path,
                None,
                rest | MS_BIND | MS_REMOUNT | rec,
                None,
            )?;
        }
    } else if m.kind == "cgroup" || m.kind == "cgroup2" {
        mount_cgroup(sys, m, &o, opts)?;
    } else {
        let target = sys.resolve(root, &m.destination, Create::Dir)?;
        let source = Path::new(if m.source.is_empty() {
            &m.kind
        } else {
            &m.source
        });
        let kind = (!m.kind.is_empty()).then_some(m.kind.as_str());
        let r = sys.mount(Some(source), &target.path, kind, o.flags, data.as_deref());
        match r {
            // Without its own network namespace a user namespace may not
            // mount sysfs; show the host's, read-only, as runc does.
            Err(e) if m.kind == "sysfs" && opts.userns && e.raw_os_error() == Some(libc::EPERM) => {
                sys.mount(
                    Some(Path::new("/sys")),
                    &target.path,
                    None,
                    MS_BIND | MS_REC,
                    None,
                )?;
                let target = sys.resolve(root, &m.destination, Create::No)?;
                sys.mount(
                    None,
                    &target.path,
                    None,
                    o.flags | MS_RDONLY | MS_BIND | MS_REMOUNT | MS_REC,
                    None,
                )?;
            }
            r => r?,
        }
        if o.copy_up && m.kind == "tmpfs" {
            // `target` still holds the covered directory open.
            let fresh = sys.resolve(root, &m.destination, Create::No)?;
            copy_tree(&target.path, &fresh.path)?;
        }
    }
    if !o.recursive.is_empty() {
        let target = sys.resolve(root, &m.destination, Create::No)?;
        o.recursive.apply(sys, &target.path)?;
    }
    if o.propagation != 0 {
        let target = sys.resolve(root, &m.destination, Create::No)?;
        sys.mount(None, &target.path, None, o.propagation, None)?;
    }
    Ok(())
}

/// Copies the directory `from` into `to` (both `/proc/self/fd/N` paths of
/// opened directories): files, directories and symlinks with their modes
/// and owners; symlinks are copied, never followed. Other file types are
/// left out.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let src = from.join(entry.file_name());
        let dst = to.join(entry.file_name());
        let md = std::fs::symlink_metadata(&src)?;
        let kind = md.file_type();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            let mut input = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&src)?;
            let mut output = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&dst)?;
            io::copy(&mut input, &mut output)?;
        } else {
            continue;
        }
        std::os::unix::fs::lchown(&dst, Some(md.uid()), Some(md.gid()))?;
        if !kind.is_symlink() {
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
