//! Reading directories through their handles.

use std::os::fd::AsFd;

use rustix::fs as rfs;

/// The names in a directory, without `.` and `..`, in directory order.
pub(crate) fn list_dir(fd: impl AsFd) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for entry in rfs::Dir::read_from(fd)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(name.to_vec());
        }
    }
    Ok(out)
}
