//! Whiteouts, opaque whiteouts, replacement of files by directories and
//! back, and pack_diff across two layers.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use ocikit_image::{pack, pack_diff, unpack, PackOptions, UnpackOptions, WhiteoutStyle};

use crate::layer::common::{snapshot_no_dir_times, RawTar, Sandbox};

fn base(s: &Sandbox) {
    let layer = RawTar::new()
        .dir("a")
        .dir("a/b")
        .dir("a/b/c")
        .file("a/b/c/bar", "bar")
        .file("a/sibling", "s")
        .dir("keep")
        .file("keep/x", "x")
        .file("del", "d")
        .dir("deldir")
        .file("deldir/y", "y")
        .dir("x")
        .file("x/child", "c")
        .file("y", "y")
        .finish();
    s.unpack(&layer, &UnpackOptions::new()).unwrap();
}

fn whiteouts_and_opaque_whiteouts_apply_to_lower_layers_only() {
    let s = Sandbox::new();
    base(&s);
    // The opaque marker comes last: it still must not hide this layer's
    // own a/b/c/foo (layer.md's example).
    let layer = RawTar::new()
        .file(".wh.del", "")
        .file(".wh.deldir", "")
        .dir("a")
        .dir("a/b")
        .dir("a/b/c")
        .file("a/b/c/foo", "foo")
        .file("a/.wh..wh..opq", "")
        .file("new", "n")
        .file(".wh.new", "")
        .file(".wh.missing", "")
        .finish();
    let r = s.unpack(&layer, &UnpackOptions::new()).unwrap();
    let root = s.root();
    assert!(!root.join("del").exists());
    assert!(!root.join("deldir").exists());
    assert_eq!(fs::read_to_string(root.join("a/b/c/foo")).unwrap(), "foo");
    assert!(!root.join("a/b/c/bar").exists());
    assert!(!root.join("a/sibling").exists());
    assert_eq!(fs::read_to_string(root.join("keep/x")).unwrap(), "x");
    assert_eq!(fs::read_to_string(root.join("new")).unwrap(), "n");
    assert!(!root.join(".wh.del").exists() && !root.join("a/.wh..wh..opq").exists());
    assert_eq!(r.whiteouts, 4);
    assert_eq!(r.skipped, 1, "the whiteout of a same-layer path is ignored");
    s.assert_outside_intact();
}

fn file_replaces_directory_and_back() {
    let s = Sandbox::new();
    base(&s);
    let layer = RawTar::new()
        .file("x", "now a file")
        .dir("y")
        .file("y/z", "z")
        .symlink("keep", "a")
        .finish();
    s.unpack(&layer, &UnpackOptions::new()).unwrap();
    let root = s.root();
    assert_eq!(fs::read_to_string(root.join("x")).unwrap(), "now a file");
    assert!(root.join("y").is_dir());
    assert_eq!(fs::read_to_string(root.join("y/z")).unwrap(), "z");
    assert!(fs::symlink_metadata(root.join("keep"))
        .unwrap()
        .is_symlink());
    // A directory over a directory keeps its contents.
    let layer = RawTar::new().dir("a").finish();
    s.unpack(&layer, &UnpackOptions::new()).unwrap();
    assert!(root.join("a/b/c/bar").exists());
    s.assert_outside_intact();
}

fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn diff_round_trip(style: WhiteoutStyle) {
    let lower = tempfile::tempdir().unwrap();
    let l = lower.path();
    fs::create_dir_all(l.join("etc/app.d")).unwrap();
    fs::write(l.join("etc/app-config"), "old").unwrap();
    fs::write(l.join("etc/app.d/one"), "1").unwrap();
    fs::write(l.join("etc/app.d/two"), "2").unwrap();
    fs::create_dir_all(l.join("bin/tools")).unwrap();
    fs::write(l.join("bin/tool"), "v1").unwrap();
    fs::write(l.join("bin/tools/t1"), "t").unwrap();
    fs::write(l.join("unchanged"), "same").unwrap();
    fs::write(l.join("becomes-dir"), "f").unwrap();
    fs::create_dir(l.join("becomes-file")).unwrap();
    fs::write(l.join("becomes-file/inner"), "i").unwrap();
    symlink("unchanged", l.join("link")).unwrap();
    fs::write(l.join("mode"), "m").unwrap();

    let upper = tempfile::tempdir().unwrap();
    let u = upper.path();
    copy_tree(l, u);
    fs::remove_file(u.join("etc/app-config")).unwrap();
    fs::remove_dir_all(u.join("etc/app.d")).unwrap();
    fs::create_dir(u.join("etc/app.d")).unwrap();
    fs::write(u.join("etc/app.d/three"), "3").unwrap();
    fs::write(u.join("bin/tool"), "v2").unwrap();
    fs::remove_dir_all(u.join("bin/tools")).unwrap();
    fs::remove_file(u.join("becomes-dir")).unwrap();
    fs::create_dir(u.join("becomes-dir")).unwrap();
    fs::write(u.join("becomes-dir/f"), "x").unwrap();
    fs::remove_dir_all(u.join("becomes-file")).unwrap();
    fs::write(u.join("becomes-file"), "now a file").unwrap();
    fs::remove_file(u.join("link")).unwrap();
    symlink("mode", u.join("link")).unwrap();
    fs::set_permissions(u.join("mode"), fs::Permissions::from_mode(0o700)).unwrap();

    let mut po = PackOptions::new();
    po.whiteouts(style);
    let mut base_blob = Vec::new();
    pack(l, &mut base_blob, &po).unwrap();
    let mut diff_blob = Vec::new();
    let report = pack_diff(l, u, &mut diff_blob, &po).unwrap();
    assert!(report.whiteouts >= 2);

    let dst = tempfile::tempdir().unwrap();
    unpack(&base_blob[..], dst.path(), &UnpackOptions::new()).unwrap();
    unpack(&diff_blob[..], dst.path(), &UnpackOptions::new()).unwrap();
    assert_eq!(snapshot_no_dir_times(dst.path()), snapshot_no_dir_times(u));

    // Nothing changed: an empty changeset.
    let mut empty = Vec::new();
    let r = pack_diff(u, u, &mut empty, &po).unwrap();
    assert_eq!((r.entries, r.whiteouts), (0, 0));
}

fn pack_diff_round_trips_with_explicit_whiteouts() {
    diff_round_trip(WhiteoutStyle::Explicit);
}

fn pack_diff_round_trips_with_opaque_whiteouts() {
    diff_round_trip(WhiteoutStyle::Opaque);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    whiteouts_and_opaque_whiteouts_apply_to_lower_layers_only,
    file_replaces_directory_and_back,
    pack_diff_round_trips_with_explicit_whiteouts,
    pack_diff_round_trips_with_opaque_whiteouts
];
