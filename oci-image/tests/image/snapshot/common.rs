//! Helpers: layers as tar, images in a layout, trees as text.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use ocikit_image::{ImageBuilder, Layout};
use ocikit_types::{Descriptor, Digest, MediaType, Platform};
use tar::{EntryType, Header};

/// One entry of a test layer.
pub(crate) enum E<'a> {
    Dir(&'a str),
    File(&'a str, &'a str),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
}

/// An uncompressed layer holding `entries`.
pub(crate) fn layer(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        match e {
            E::Dir(p) => {
                h.set_entry_type(EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            E::File(p, data) => {
                h.set_entry_type(EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, data.as_bytes()).unwrap();
            }
            E::Link(p, target) => {
                h.set_entry_type(EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::Hard(p, target) => {
                h.set_entry_type(EntryType::Link);
                h.set_mode(0o644);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// An image of `layers` (bottom first) in `layout`, its diff IDs computed
/// unless `diff_ids` overrides them.
pub(crate) fn image(
    layout: &Layout,
    layers: &[Vec<u8>],
    diff_ids: Option<&[Digest]>,
) -> Descriptor {
    let mut b = ImageBuilder::new(layout, Platform::new("linux", "amd64"));
    for (i, l) in layers.iter().enumerate() {
        let desc = layout.write_blob(MediaType::ImageLayer, l).unwrap();
        let diff = diff_ids.map_or_else(|| Digest::sha256(l), |d| d[i].clone());
        b.add_layer(desc, diff, None);
    }
    b.write().unwrap()
}

/// Every path below `dir` with its kind, mode, owner and content (or
/// link target), so two roots can be compared.
pub(crate) fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let m = fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(base).unwrap().display().to_string();
        let ft = m.file_type();
        let what = if ft.is_dir() {
            walk(base, &path, out);
            "dir".to_owned()
        } else if ft.is_symlink() {
            format!("link {}", fs::read_link(&path).unwrap().display())
        } else if ft.is_file() {
            format!(
                "file {:?} nlink {}",
                fs::read_to_string(&path).unwrap(),
                m.nlink()
            )
        } else if ft.is_char_device() {
            format!("char {}", m.rdev())
        } else {
            "other".to_owned()
        };
        let mode = m.mode() & 0o7777;
        out.insert(
            rel,
            format!("{what} mode {mode:o} owner {}:{}", m.uid(), m.gid()),
        );
    }
}
