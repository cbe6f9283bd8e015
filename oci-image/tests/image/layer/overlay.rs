//! Unpacking in the overlay whiteout format ([`WhiteoutMode::Overlay`]).

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use ocikit_image::{UnpackOptions, WhiteoutMode};

use crate::layer::common::{RawTar, Sandbox};

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    overlay_mode_writes_whiteout_devices_and_opaque_xattrs,
    overlay_mode_drops_overlay_xattrs_a_layer_carries,
];

fn overlay() -> UnpackOptions {
    let mut o = UnpackOptions::new();
    o.whiteout_mode(WhiteoutMode::Overlay);
    o
}

fn opaque_name() -> &'static str {
    if testkit::need::is_root() {
        "trusted.overlay.opaque"
    } else {
        "user.overlay.opaque"
    }
}

fn overlay_mode_writes_whiteout_devices_and_opaque_xattrs() {
    let s = Sandbox::new();
    let layer = RawTar::new()
        .file(".wh.gone", "")
        .file("deep/er/.wh.x", "")
        .dir("opq")
        .file("opq/.wh..wh..opq", "")
        .file("opq/kept", "k")
        .file("mine", "m")
        .file(".wh.mine", "")
        .finish();
    let report = s.unpack(&layer, &overlay()).unwrap();
    assert_eq!(report.whiteouts, 3);
    assert_eq!(
        report.skipped, 1,
        "a whiteout of the layer's own file is skipped"
    );
    let root = s.root();
    for wh in ["gone", "deep/er/x"] {
        let m = fs::symlink_metadata(root.join(wh)).unwrap();
        assert!(m.file_type().is_char_device() && m.rdev() == 0, "{wh}");
    }
    assert!(!root.join(".wh.gone").exists());
    assert_eq!(fs::read_to_string(root.join("mine")).unwrap(), "m");
    assert_eq!(fs::read_to_string(root.join("opq/kept")).unwrap(), "k");
    let mut v = [0u8; 4];
    let n = rustix::fs::getxattr(root.join("opq"), opaque_name(), &mut v[..]).unwrap();
    assert_eq!(&v[..n], b"y");
    s.assert_outside_intact();
}

fn overlay_mode_drops_overlay_xattrs_a_layer_carries() {
    if !testkit::need::root() {
        return;
    }
    let s = Sandbox::new();
    let layer = RawTar::new()
        .pax(&[
            ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ("SCHILY.xattr.user.kept", b"1"),
        ])
        .dir("d")
        .finish();
    s.unpack(&layer, &overlay()).unwrap();
    let d = s.root().join("d");
    let mut v = [0u8; 8];
    for gone in ["trusted.overlay.redirect", "trusted.overlay.opaque"] {
        assert!(
            rustix::fs::getxattr(&d, gone, &mut v[..]).is_err(),
            "{gone} was set"
        );
    }
    assert_eq!(
        rustix::fs::getxattr(&d, "user.kept", &mut v[..]).unwrap(),
        1
    );
    // Applied as usual, the same layer keeps them (root may set trusted.*).
    let s = Sandbox::new();
    s.unpack(&layer, &UnpackOptions::new()).unwrap();
    let n =
        rustix::fs::getxattr(s.root().join("d"), "trusted.overlay.redirect", &mut v[..]).unwrap();
    assert_eq!(&v[..n], b"/etc");
}
