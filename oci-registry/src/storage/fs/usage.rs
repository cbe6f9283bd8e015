//! The storage's size on disk, for the metrics: a walk of the whole
//! tree, so the server calls it at most once per interval.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::FsStorage;
use crate::Error;

impl FsStorage {
    /// The bytes of every regular file under the root, each file once
    /// (a blob is hard-linked into every repository that has it). Files
    /// removed while the walk runs are skipped.
    pub(super) fn walk_usage(&self) -> Result<u64, Error> {
        let mut total = 0u64;
        let mut seen = HashSet::new();
        let mut dirs: Vec<PathBuf> = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound && dir != self.root => continue,
                Err(e) => return Err(Error::io("list", &dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
                let path = entry.path();
                let meta = match fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io("read metadata of", &path, e)),
                };
                if meta.is_dir() {
                    dirs.push(path);
                } else if meta.is_file()
                    && (meta.nlink() < 2 || seen.insert((meta.dev(), meta.ino())))
                {
                    total += meta.len();
                }
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write(p: &Path, bytes: &[u8]) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    #[test]
    fn hard_links_count_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::open(dir.path()).unwrap();
        assert_eq!(s.walk_usage().unwrap(), 0);
        let blob = dir.path().join("blobs/sha256/aa");
        write(&blob, &[0; 100]);
        let link = dir.path().join("repositories/r/_layout/blobs/sha256/aa");
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        fs::hard_link(&blob, &link).unwrap();
        write(
            &dir.path().join("repositories/r/_layout/index.json"),
            &[1; 20],
        );
        std::os::unix::fs::symlink(&blob, dir.path().join("sym")).unwrap();
        assert_eq!(s.walk_usage().unwrap(), 120);
    }
}
