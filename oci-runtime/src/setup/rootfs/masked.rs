//! `linux.maskedPaths` and `linux.readonlyPaths`.

use std::io;
use std::path::Path;

use crate::sys::syscalls::{Create, Syscalls, MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT};

pub(super) fn mask(sys: &dyn Syscalls, root: &Path, path: &str) -> io::Result<()> {
    let target = match sys.resolve(root, path, Create::No) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if target.is_dir {
        sys.mount(
            Some(Path::new("tmpfs")),
            &target.path,
            Some("tmpfs"),
            MS_RDONLY,
            None,
        )
    } else {
        sys.mount(
            Some(Path::new("/dev/null")),
            &target.path,
            None,
            MS_BIND,
            None,
        )
    }
}

pub(super) fn make_readonly(sys: &dyn Syscalls, root: &Path, path: &str) -> io::Result<()> {
    let target = match sys.resolve(root, path, Create::No) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    sys.mount(
        Some(&target.path),
        &target.path,
        None,
        MS_BIND | MS_REC,
        None,
    )?;
    let target = sys.resolve(root, path, Create::No)?;
    sys.mount(
        None,
        &target.path,
        None,
        MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC,
        None,
    )
}
