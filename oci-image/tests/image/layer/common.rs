//! Helpers: a sandbox with a root and a sentinel tree beside it, raw tar
//! writing, and tree snapshots.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use ocikit_image::{unpack, Error, UnpackOptions, UnpackReport};
use tar::{EntryType, Header};

/// A temp dir holding `root/` (where layers go) and `outside/` (a sentinel
/// tree that must never change).
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
    before: Tree,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("root")).unwrap();
        let out = dir.path().join("outside");
        fs::create_dir_all(out.join("dir")).unwrap();
        fs::write(out.join("secret"), "do not touch").unwrap();
        fs::write(out.join("dir/passwd"), "root:x:0:0").unwrap();
        let before = snapshot(dir.path());
        Sandbox { dir, before }
    }

    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub(crate) fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// `outside/` as an absolute path without its leading slash.
    pub(crate) fn outside_rel(&self) -> PathBuf {
        self.outside().strip_prefix("/").unwrap().to_owned()
    }

    pub(crate) fn unpack(
        &self,
        layer: &[u8],
        options: &UnpackOptions,
    ) -> Result<UnpackReport, Error> {
        unpack(layer, self.root(), options)
    }

    /// Asserts nothing beside `root/` changed: `outside/` is as created and
    /// no new name appeared in the sandbox.
    pub(crate) fn assert_outside_intact(&self) {
        // Not walked: `root/` may hold paths longer than PATH_MAX.
        let mut now = Tree::new();
        walk(
            self.dir.path(),
            self.dir.path(),
            &mut now,
            true,
            Some("root"),
        );
        let before: Tree = self
            .before
            .iter()
            .filter(|(k, _)| *k != "root" && !k.starts_with("root/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(now, before, "something outside the root changed");
        assert_eq!(
            fs::metadata(self.outside().join("secret")).unwrap().nlink(),
            1,
            "a hard link to the sentinel appeared"
        );
    }
}

/// What a snapshot records of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) kind: &'static str,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: Option<i64>,
    pub(crate) data: Vec<u8>,
}

pub(crate) type Tree = BTreeMap<String, Node>;

/// Records everything below `dir` in `out`, keyed by the path from
/// `base`; `skip` names an entry of `base` left out.
fn walk(base: &Path, dir: &Path, out: &mut Tree, with_dir_mtime: bool, skip: Option<&str>) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        if dir == base && skip.is_some() && p.file_name() == skip.map(std::ffi::OsStr::new) {
            continue;
        }
        let md = fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        let (kind, data) = if ft.is_dir() {
            ("dir", Vec::new())
        } else if ft.is_symlink() {
            (
                "symlink",
                fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec(),
            )
        } else if ft.is_file() {
            ("file", fs::read(&p).unwrap())
        } else if ft.is_fifo() {
            ("fifo", Vec::new())
        } else if ft.is_char_device() {
            ("char", md.rdev().to_le_bytes().to_vec())
        } else if ft.is_block_device() {
            ("block", md.rdev().to_le_bytes().to_vec())
        } else {
            ("other", Vec::new())
        };
        let mtime = (kind != "dir" || with_dir_mtime).then(|| md.mtime());
        out.insert(
            rel,
            Node {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime,
                data,
            },
        );
        if ft.is_dir() {
            walk(base, &p, out, with_dir_mtime, None);
        }
    }
}

/// Everything below `dir` (directory times included).
pub(crate) fn snapshot(dir: &Path) -> Tree {
    let mut out = Tree::new();
    walk(dir, dir, &mut out, true, None);
    out
}

/// Everything below `dir`, without directory times.
pub(crate) fn snapshot_no_dir_times(dir: &Path) -> Tree {
    let mut out = Tree::new();
    walk(dir, dir, &mut out, false, None);
    out
}

/// A tar stream written header by header, without the `tar` crate's
/// checks on names, so hostile names can be written.
#[derive(Default)]
pub(crate) struct RawTar {
    pub(crate) bytes: Vec<u8>,
}

impl RawTar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends an entry; `size` overrides the declared size.
    pub(crate) fn entry(
        &mut self,
        name: &[u8],
        kind: EntryType,
        link: &[u8],
        data: &[u8],
        size: Option<u64>,
    ) -> &mut Self {
        let mut h = Header::new_ustar();
        {
            let old = h.as_old_mut();
            old.name[..name.len()].copy_from_slice(name);
            old.linkname[..link.len()].copy_from_slice(link);
        }
        h.set_entry_type(kind);
        h.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_000_000);
        h.set_size(size.unwrap_or(data.len() as u64));
        h.set_cksum();
        self.bytes.extend_from_slice(h.as_bytes());
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0, pad));
        self
    }

    pub(crate) fn file(&mut self, name: &str, data: &str) -> &mut Self {
        self.entry(
            name.as_bytes(),
            EntryType::Regular,
            b"",
            data.as_bytes(),
            None,
        )
    }

    pub(crate) fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(name.as_bytes(), EntryType::Directory, b"", b"", None)
    }

    pub(crate) fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(
            name.as_bytes(),
            EntryType::Symlink,
            target.as_bytes(),
            b"",
            None,
        )
    }

    pub(crate) fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(
            name.as_bytes(),
            EntryType::Link,
            target.as_bytes(),
            b"",
            None,
        )
    }

    /// A PAX extended header for the next entry.
    pub(crate) fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut data = Vec::new();
        for (k, v) in records {
            let rest = 3 + k.len() + v.len();
            let mut len = rest + 1;
            while len != rest + len.to_string().len() {
                len = rest + len.to_string().len();
            }
            data.extend_from_slice(format!("{len} {k}=").as_bytes());
            data.extend_from_slice(v);
            data.push(b'\n');
        }
        self.entry(b"PaxHeader", EntryType::XHeader, b"", &data, None)
    }

    /// The stream with its two terminating zero blocks.
    pub(crate) fn finish(&self) -> Vec<u8> {
        let mut out = self.bytes.clone();
        out.extend(std::iter::repeat_n(0, 1024));
        out
    }
}

/// Everything below `dir` as [`snapshot`] records it (directory times
/// included), walked through directory handles so that paths longer than
/// `PATH_MAX` can be read.
pub(crate) fn deep_snapshot(dir: &Path) -> Tree {
    use rustix::fs::{self as rfs, Mode, OFlags};
    let fd = rfs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let mut out = Tree::new();
    deep_walk(&fd, "", &mut out);
    out
}

fn deep_walk(dir: &std::os::fd::OwnedFd, prefix: &str, out: &mut Tree) {
    use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
    use std::io::Read;
    let mut names = Vec::new();
    for e in rfs::Dir::read_from(dir).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(String::from_utf8(n.to_vec()).unwrap());
        }
    }
    names.sort();
    for n in names {
        let st = rfs::statat(dir, &n, AtFlags::SYMLINK_NOFOLLOW).unwrap();
        let rel = if prefix.is_empty() {
            n.clone()
        } else {
            format!("{prefix}/{n}")
        };
        let ft = FileType::from_raw_mode(st.st_mode);
        let (kind, data) = match ft {
            FileType::RegularFile => {
                let fd = rfs::openat(
                    dir,
                    &n,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .unwrap();
                let mut data = Vec::new();
                fs::File::from(fd).read_to_end(&mut data).unwrap();
                ("file", data)
            }
            FileType::Symlink => (
                "symlink",
                rfs::readlinkat(dir, &n, Vec::new()).unwrap().into_bytes(),
            ),
            FileType::Directory => ("dir", Vec::new()),
            FileType::Fifo => ("fifo", Vec::new()),
            _ => ("other", Vec::new()),
        };
        out.insert(
            rel.clone(),
            Node {
                kind,
                mode: st.st_mode & 0o7777,
                uid: st.st_uid,
                gid: st.st_gid,
                mtime: Some(st.st_mtime),
                data,
            },
        );
        if ft == FileType::Directory {
            let sub = rfs::openat(
                dir,
                &n,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .unwrap();
            deep_walk(&sub, &rel, out);
        }
    }
}
