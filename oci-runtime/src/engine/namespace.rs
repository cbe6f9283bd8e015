//! Which namespaces the init makes, and which it joins by path.

use std::path::PathBuf;

use ocikit_types::runtime::NamespaceType;

pub(crate) fn ns_flag(kind: &NamespaceType) -> Option<i32> {
    Some(match kind {
        NamespaceType::Mount => libc::CLONE_NEWNS,
        NamespaceType::Pid => libc::CLONE_NEWPID,
        NamespaceType::Network => libc::CLONE_NEWNET,
        NamespaceType::Uts => libc::CLONE_NEWUTS,
        NamespaceType::Ipc => libc::CLONE_NEWIPC,
        NamespaceType::User => libc::CLONE_NEWUSER,
        NamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        NamespaceType::Time => libc::CLONE_NEWTIME,
        _ => return None,
    })
}

/// How the init gets its namespaces.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NamespacePlan {
    /// CLONE_NEW* flags for the clone of the container process.
    pub(crate) clone_flags: u64,
    /// Unshare a new user namespace first (its maps written by the runtime).
    pub(crate) new_userns: bool,
    /// Namespaces to join by path, the user namespace first (joining it
    /// grants the rights to join the others).
    pub(crate) join: Vec<(PathBuf, i32)>,
}

pub(crate) fn namespace_plan(namespaces: &[ocikit_types::runtime::Namespace]) -> NamespacePlan {
    let mut plan = NamespacePlan {
        clone_flags: 0,
        new_userns: false,
        join: Vec::new(),
    };
    for ns in namespaces {
        let Some(flag) = ns_flag(&ns.kind) else {
            continue;
        };
        if !ns.path.is_empty() {
            let entry = (PathBuf::from(&ns.path), flag);
            if ns.kind == NamespaceType::User {
                plan.join.insert(0, entry);
            } else {
                plan.join.push(entry);
            }
        } else if ns.kind == NamespaceType::User {
            plan.new_userns = true;
        } else if ns.kind == NamespaceType::Time {
            // clone(2) cannot take CLONE_NEWTIME (it overlaps the exit
            // signal bits): stage 1 unshares it, see `timens::setup`.
        } else {
            plan.clone_flags |= flag as u64;
        }
    }
    plan
}
