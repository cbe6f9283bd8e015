//! Container roots: overlayfs over the layer directories, the copy
//! fallback, writes, and removal.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use ocikit_image::{CopyReason, Layout, RootMethod, RootStrategy, SnapshotOptions, SnapshotStore};
use ocikit_types::Descriptor;

use super::common::{image, layer, tree, E};

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    overlay_root_shows_every_layer_and_whiteouts_hide_lower_files,
    writes_go_to_the_upper_dir_and_removal_leaves_the_layers,
    copy_fallback_gives_the_same_tree,
];

/// A base and a top layer with a whiteout, an opaque directory, a
/// symlink and hard links.
fn two_layers(layout: &Layout) -> Descriptor {
    let base = layer(&[
        E::Dir("etc"),
        E::File("etc/passwd", "root:x:0:0"),
        E::File("etc/hosts", "127.0.0.1"),
        E::Dir("opt"),
        E::File("opt/old1", "1"),
        E::Dir("opt/sub"),
        E::File("opt/sub/old2", "2"),
        E::File("del", "gone"),
        E::Dir("deldir"),
        E::File("deldir/f", "f"),
        E::Link("hostlink", "/etc/hosts"),
    ]);
    let top = layer(&[
        E::File(".wh.del", ""),
        E::File(".wh.deldir", ""),
        E::Dir("opt"),
        E::File("opt/.wh..wh..opq", ""),
        E::File("opt/new", "n"),
        E::Dir("etc"),
        E::File("etc/new", "new"),
        E::File("etc/one", "same"),
        E::Hard("etc/two", "etc/one"),
    ]);
    image(layout, &[base, top], None)
}

fn overlay_root_shows_every_layer_and_whiteouts_hide_lower_files() {
    if !testkit::need::root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let img = two_layers(&layout);
    let root = store
        .prepare(&layout, &img, "c1", &SnapshotOptions::new())
        .unwrap();
    assert_eq!(root.method, RootMethod::Overlay);
    let r = &root.rootfs;
    assert_eq!(
        fs::read_to_string(r.join("etc/passwd")).unwrap(),
        "root:x:0:0"
    );
    assert_eq!(fs::read_to_string(r.join("etc/new")).unwrap(), "new");
    assert_eq!(
        fs::read_link(r.join("hostlink")).unwrap().to_str(),
        Some("/etc/hosts")
    );
    assert!(!r.join("del").exists() && !r.join("deldir").exists());
    let opt: Vec<_> = fs::read_dir(r.join("opt"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        opt,
        ["new"],
        "the opaque opt/ hides the base layer's children"
    );
    assert_eq!(fs::metadata(r.join("etc/two")).unwrap().nlink(), 2);

    // The top layer's directory holds the overlay format.
    let top = &root.image.layer_dirs[1];
    let wh = fs::symlink_metadata(top.join("del")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    let mut v = [0u8; 4];
    let n = rustix::fs::getxattr(top.join("opt"), "trusted.overlay.opaque", &mut v[..]).unwrap();
    assert_eq!(&v[..n], b"y");
    assert!(!top.join(".wh.del").exists() && !top.join("opt/.wh..wh..opq").exists());
    // The base layer is whole.
    assert!(root.image.layer_dirs[0].join("del").is_file());
    assert!(store.remove_container("c1").unwrap());
}

fn writes_go_to_the_upper_dir_and_removal_leaves_the_layers() {
    if !testkit::need::root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let img = two_layers(&layout);
    let root = store
        .prepare(&layout, &img, "c1", &SnapshotOptions::new())
        .unwrap();
    let layers_before: Vec<_> = root.image.layer_dirs.iter().map(|d| tree(d)).collect();
    fs::write(root.rootfs.join("etc/passwd"), "changed").unwrap();
    fs::write(root.rootfs.join("fresh"), "x").unwrap();
    fs::remove_file(root.rootfs.join("etc/hosts")).unwrap();
    let upper = root.upper.clone().unwrap();
    assert_eq!(
        fs::read_to_string(upper.join("etc/passwd")).unwrap(),
        "changed"
    );
    assert_eq!(fs::read_to_string(upper.join("fresh")).unwrap(), "x");
    assert!(fs::symlink_metadata(upper.join("etc/hosts"))
        .unwrap()
        .file_type()
        .is_char_device());
    let layers_after: Vec<_> = root.image.layer_dirs.iter().map(|d| tree(d)).collect();
    assert_eq!(
        layers_before, layers_after,
        "a write reached a layer directory"
    );

    // A second container of the image sees the image, not c1's writes.
    let other = store
        .prepare(&layout, &img, "c2", &SnapshotOptions::new())
        .unwrap();
    assert!(other.image.unpacked.is_empty());
    assert_eq!(
        fs::read_to_string(other.rootfs.join("etc/passwd")).unwrap(),
        "root:x:0:0"
    );

    assert!(store.remove_container("c1").unwrap());
    assert!(!store.path().join("containers/c1").exists());
    assert!(!store.remove_container("c1").unwrap());
    for d in &root.image.layer_dirs {
        assert!(d.is_dir(), "{} went with the container", d.display());
    }
    assert_eq!(store.gc().unwrap().layers, []);
    assert_eq!(
        fs::read_to_string(other.rootfs.join("etc/passwd")).unwrap(),
        "root:x:0:0"
    );
    store.remove_container("c2").unwrap();
}

fn copy_fallback_gives_the_same_tree() {
    if !testkit::need::root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::create(tmp.path().join("layout")).unwrap();
    let store = SnapshotStore::open(tmp.path().join("store")).unwrap();
    let img = two_layers(&layout);
    let over = store
        .prepare(&layout, &img, "over", &SnapshotOptions::new())
        .unwrap();
    let mut opts = SnapshotOptions::new();
    opts.root_strategy(RootStrategy::Copy);
    let copy = store.prepare(&layout, &img, "copy", &opts).unwrap();
    assert_eq!(copy.method, RootMethod::Copy(CopyReason::Requested));
    assert_eq!(copy.upper, None);
    let (a, b) = (tree(&over.rootfs), tree(&copy.rootfs));
    assert!(a.contains_key("opt/new") && !a.contains_key("opt/old1"));
    assert_eq!(a, b);
    // The copy is the container's own.
    fs::write(copy.rootfs.join("etc/passwd"), "mine").unwrap();
    assert_eq!(
        fs::read_to_string(over.rootfs.join("etc/passwd")).unwrap(),
        "root:x:0:0"
    );
    store.remove_container("over").unwrap();
    store.remove_container("copy").unwrap();
}
