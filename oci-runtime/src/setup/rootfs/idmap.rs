//! Idmapped mounts (`idmap`/`ridmap` options): the requests a config
//! makes, and the detached idmapped trees stage 1 makes on the host.

use std::io;
use std::path::{Path, PathBuf};

use ocikit_types::runtime::Spec;

use super::{is_bind, parse_options};
use crate::setup::error::Invalid;
use crate::sys::syscalls::MS_REC;

/// An idmapped mount for stage 1 to prepare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdmapRequest {
    /// Index in `mounts`.
    pub(crate) index: usize,
    /// The source, relative to `bundle` unless absolute.
    pub(crate) source: PathBuf,
    /// Clone the whole tree below the source (`rbind`).
    pub(crate) tree: bool,
    /// Idmap every mount of the tree (`ridmap`).
    pub(crate) recursive: bool,
    /// `uid_map` contents (`containerID hostID size` lines).
    pub(crate) uid_map: String,
    /// `gid_map` contents.
    pub(crate) gid_map: String,
}

/// The idmapped mounts of `spec`: bind mounts with `uidMappings` and
/// `gidMappings`, or with the `idmap`/`ridmap` option and no mappings of
/// their own, which then take the container's (`linux.uidMappings`).
pub(crate) fn idmap_requests(spec: &Spec) -> Result<Vec<IdmapRequest>, Invalid> {
    let text = |m: &[ocikit_types::runtime::IdMapping]| {
        m.iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect::<String>()
    };
    let linux = spec.linux.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (index, m) in spec.mounts.iter().enumerate() {
        let option = m.options.iter().any(|o| o == "idmap" || o == "ridmap");
        let own = !m.uid_mappings.is_empty() || !m.gid_mappings.is_empty();
        if !option && !own {
            continue;
        }
        let bad = |expected| Invalid {
            field: "mounts[].uidMappings",
            expected,
            found: format!("{} on {}", m.kind, m.destination),
        };
        if !is_bind(m) {
            return Err(bad("idmapped mounts only for bind mounts"));
        }
        let (uids, gids) = if own {
            (&m.uid_mappings, &m.gid_mappings)
        } else {
            (&linux.uid_mappings, &linux.gid_mappings)
        };
        if uids.is_empty() || gids.is_empty() {
            return Err(bad(
                "both uidMappings and gidMappings (the mount's or the container's)",
            ));
        }
        out.push(IdmapRequest {
            index,
            source: PathBuf::from(&m.source),
            tree: parse_options(&m.options).flags & MS_REC != 0,
            recursive: m.options.iter().any(|o| o == "ridmap"),
            uid_map: text(uids),
            gid_map: text(gids),
        });
    }
    Ok(out)
}

/// Makes the detached idmapped mount for `req` (open_tree(2) with
/// `OPEN_TREE_CLONE`, then mount_setattr(2) `MOUNT_ATTR_IDMAP` with
/// `userns`), for stage 2 to attach in the container.
pub(crate) fn idmapped_tree(
    req: &IdmapRequest,
    bundle: &Path,
    userns: &std::os::fd::OwnedFd,
) -> io::Result<std::os::fd::OwnedFd> {
    use rustix::mount::{open_tree, OpenTreeFlags};
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if req.tree {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = open_tree(rustix::fs::CWD, bundle.join(&req.source), flags)?;
    crate::sys::mount_setattr_idmap(&tree, userns, req.recursive)?;
    Ok(tree)
}
