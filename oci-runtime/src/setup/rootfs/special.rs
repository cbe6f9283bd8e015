//! procfs and sysfs go only on ordinary directories of the rootfs: a
//! symlink there (or a file) is refused, as runc refuses it since
//! CVE-2019-19921, where a racing image swapped `/proc` for a symlink to
//! a directory the container controlled and so defeated the masked paths.

use std::io;
use std::path::Path;

use ocikit_types::runtime::Mount;

use crate::setup::error::{SetupError, Step};
use crate::sys::syscalls::{Create, Syscalls};

/// Whether `m` mounts a procfs or sysfs.
fn is_special(m: &Mount) -> bool {
    m.kind == "proc" || m.kind == "sysfs"
}

/// Refuses a procfs or sysfs mount whose destination in the rootfs `root`
/// exists and is not a directory (a symlink is not followed). A missing
/// destination is fine: the mount creates a directory there.
pub(crate) fn check_destination(
    sys: &dyn Syscalls,
    root: &Path,
    m: &Mount,
) -> Result<(), SetupError> {
    if !is_special(m) {
        return Ok(());
    }
    let dest = Path::new(&m.destination);
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        // `/` itself: mounting over the root is refused by the kernel.
        return Ok(());
    };
    let parent = match sys.resolve(root, &parent.to_string_lossy(), Create::No) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        r => r.step(|| format!("open the parent of {}", m.destination))?,
    };
    // `path` names the opened parent directory; lstat does not follow
    // `name` itself.
    let md = match std::fs::symlink_metadata(parent.path.join(name)) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).step(|| format!("inspect {}", m.destination)),
    };
    if md.is_dir() {
        return Ok(());
    }
    let what = if md.file_type().is_symlink() {
        "a symlink"
    } else {
        "not a directory"
    };
    Err(SetupError::Invalid {
        field: "mounts[].destination",
        expected: "an ordinary directory of the rootfs for a procfs or sysfs mount",
        found: format!("{} ({}) is {what}", m.destination, m.kind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::Recording;

    #[test]
    fn a_symlink_or_file_is_refused_a_directory_or_nothing_accepted() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/tmp", root.path().join("proc")).unwrap();
        std::fs::write(root.path().join("sys"), "").unwrap();
        std::fs::create_dir(root.path().join("dir")).unwrap();
        let sys = Recording::default();
        let proc = Mount::new("/proc", "proc", "proc", &[]);
        let e = check_destination(&sys, root.path(), &proc).unwrap_err();
        assert!(e.to_string().contains("/proc (proc) is a symlink"), "{e}");
        let sysfs = Mount::new("/sys", "sysfs", "sysfs", &[]);
        let e = check_destination(&sys, root.path(), &sysfs).unwrap_err();
        assert!(
            e.to_string().contains("/sys (sysfs) is not a directory"),
            "{e}"
        );
        for dest in ["/dir", "/missing", "/missing/below"] {
            let m = Mount::new(dest, "proc", "proc", &[]);
            check_destination(&sys, root.path(), &m).unwrap();
        }
        // Other kinds are not this check's business.
        let m = Mount::new("/proc", "tmpfs", "tmpfs", &[]);
        check_destination(&sys, root.path(), &m).unwrap();
    }
}
