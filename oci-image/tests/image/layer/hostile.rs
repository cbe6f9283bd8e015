//! A corpus of hostile layers. Each case asserts the error or the safe
//! outcome, and that nothing outside the root changed.

use std::fs;
use std::path::Path;

use ocikit_image::{Error, Privileges, UnpackOptions};
use tar::EntryType;

use crate::layer::common::{RawTar, Sandbox};

/// The sandbox's `outside/` path recreated inside the root, so that
/// absolute symlinks to it resolve to an existing directory in the root.
fn mirror(s: &Sandbox, tar: &mut RawTar) {
    let rel = s.outside_rel();
    let mut p = std::path::PathBuf::new();
    for c in rel.components() {
        p.push(c);
        tar.dir(p.to_str().unwrap());
    }
    tar.dir(p.join("dir").to_str().unwrap());
}

fn opts() -> UnpackOptions {
    UnpackOptions::new()
}

fn escapes(r: Result<ocikit_image::UnpackReport, Error>) {
    match r {
        Err(Error::PathEscapesRoot { .. }) => {}
        other => panic!("expected PathEscapesRoot, got {other:?}"),
    }
}

fn dotdot_is_refused() {
    let s = Sandbox::new();
    escapes(s.unpack(&RawTar::new().file("../escape", "x").finish(), &opts()));
    escapes(s.unpack(&RawTar::new().file("a/../../escape", "x").finish(), &opts()));
    escapes(s.unpack(
        &RawTar::new().file("../outside/secret", "x").finish(),
        &opts(),
    ));
    s.assert_outside_intact();
    assert!(!s.dir.path().join("escape").exists());
}

fn pax_path_dotdot_is_refused() {
    let s = Sandbox::new();
    let layer = RawTar::new()
        .pax(&[("path", b"../../pax-escape")])
        .file("harmless", "x")
        .finish();
    escapes(s.unpack(&layer, &opts()));
    let layer = RawTar::new()
        .pax(&[("path", b"bad\0name")])
        .file("harmless", "x")
        .finish();
    assert!(s.unpack(&layer, &opts()).is_err());
    s.assert_outside_intact();
}

fn absolute_names_land_inside() {
    let s = Sandbox::new();
    s.unpack(&RawTar::new().file("/abs/path", "x").finish(), &opts())
        .unwrap();
    assert_eq!(fs::read_to_string(s.root().join("abs/path")).unwrap(), "x");
    s.assert_outside_intact();
}

fn symlink_then_file_stays_inside() {
    let s = Sandbox::new();
    let outside = s.outside();
    let mut tar = RawTar::new();
    mirror(&s, &mut tar);
    let layer = tar
        .dir("etc")
        .symlink("evil", outside.to_str().unwrap())
        .file("evil/passwd", "pwned")
        .symlink("up", "../../..")
        .file("up/escape", "pwned")
        .symlink("etc2", "/etc")
        .file("etc2/ocikit-canary-symlink", "pwned")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert_eq!(
        fs::read_to_string(s.root().join(s.outside_rel()).join("passwd")).unwrap(),
        "pwned"
    );
    assert_eq!(
        fs::read_to_string(s.root().join("escape")).unwrap(),
        "pwned"
    );
    assert!(!Path::new("/etc/ocikit-canary-symlink").exists());
    assert!(s.root().join("etc/ocikit-canary-symlink").exists());
    assert_eq!(
        fs::read_link(s.root().join("evil")).unwrap(),
        outside,
        "symlink targets are stored as written"
    );
    s.assert_outside_intact();
}

fn symlink_chain_stays_inside() {
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    mirror(&s, &mut tar);
    let layer = tar
        .symlink("a", "b")
        .symlink("b", "../c")
        .symlink("c", s.outside().join("dir").to_str().unwrap())
        .file("a/passwd", "pwned")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert_eq!(
        fs::read_to_string(s.root().join(s.outside_rel()).join("dir/passwd")).unwrap(),
        "pwned"
    );
    s.assert_outside_intact();
}

fn file_over_symlink_replaces_the_link() {
    let s = Sandbox::new();
    let layer = RawTar::new()
        .symlink("x", s.outside().join("secret").to_str().unwrap())
        .file("x", "replaced")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert_eq!(fs::read_to_string(s.root().join("x")).unwrap(), "replaced");
    assert!(!fs::symlink_metadata(s.root().join("x"))
        .unwrap()
        .is_symlink());
    s.assert_outside_intact();
}

fn directory_replaced_by_symlink_mid_layer() {
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    mirror(&s, &mut tar);
    let layer = tar
        .dir("d")
        .file("d/f", "one")
        .symlink("d", s.outside().to_str().unwrap())
        .file("d/g", "two")
        .dir("d/sub")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    let inner = s.root().join(s.outside_rel());
    assert_eq!(fs::read_to_string(inner.join("g")).unwrap(), "two");
    assert!(inner.join("sub").is_dir());
    s.assert_outside_intact();
}

fn hardlink_escapes_are_refused() {
    let s = Sandbox::new();
    escapes(s.unpack(
        &RawTar::new().hardlink("h", "../outside/secret").finish(),
        &opts(),
    ));
    // An absolute target is taken inside the root, where it does not exist.
    let abs = s.outside().join("secret");
    let r = s.unpack(
        &RawTar::new().hardlink("h", abs.to_str().unwrap()).finish(),
        &opts(),
    );
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    // Through a symlink to the outside: resolves inside the root.
    let layer = RawTar::new()
        .symlink("evil", s.outside().to_str().unwrap())
        .hardlink("h2", "evil/secret")
        .finish();
    assert!(s.unpack(&layer, &opts()).is_err());
    // To a symlink pointing outside: not a regular file.
    let layer = RawTar::new()
        .symlink("s", abs.to_str().unwrap())
        .hardlink("h3", "s")
        .finish();
    let r = s.unpack(&layer, &opts());
    assert!(matches!(r, Err(Error::BadEntry { .. })), "{r:?}");
    s.assert_outside_intact();
}

fn hardlink_to_etc_passwd_stays_inside() {
    let s = Sandbox::new();
    let layer = RawTar::new()
        .file("etc/passwd", "inside")
        .hardlink("h", "/etc/passwd")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert_eq!(fs::read_to_string(s.root().join("h")).unwrap(), "inside");
    s.assert_outside_intact();
}

fn whiteouts_of_parents_are_refused() {
    let s = Sandbox::new();
    for name in [".wh..", ".wh...", "sub/.wh...", ".wh."] {
        let layer = RawTar::new().file(name, "").finish();
        escapes(s.unpack(&layer, &opts()));
    }
    escapes(s.unpack(&RawTar::new().file("../.wh.outside", "").finish(), &opts()));
    // Through a symlink: deletes inside the root only.
    let mut tar = RawTar::new();
    mirror(&s, &mut tar);
    let layer = tar
        .file(s.outside_rel().join("secret").to_str().unwrap(), "inner")
        .symlink("evil", s.outside().to_str().unwrap())
        .file("evil/.wh.secret", "")
        .file("evil/.wh..wh..opq", "")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert!(!s.root().join(s.outside_rel()).join("secret").exists());
    s.assert_outside_intact();
}

fn device_nodes_rootless_are_skipped() {
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    tar.entry(b"dev/null", EntryType::Char, b"", b"", None)
        .entry(b"dev/sda", EntryType::Block, b"", b"", None)
        .file("ok", "fine");
    let mut o = opts();
    o.privileges(Privileges::Rootless);
    let report = s.unpack(&tar.finish(), &o).unwrap();
    assert_eq!(report.skipped, 2);
    assert!(!s.root().join("dev/null").exists());
    assert!(s.root().join("ok").exists());
    s.assert_outside_intact();
}

fn short_body_and_huge_sizes() {
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    tar.entry(b"huge", EntryType::Regular, b"", b"short", Some(1 << 40));
    let r = s.unpack(&tar.bytes, &opts());
    assert!(
        matches!(
            r,
            Err(Error::LimitExceeded {
                what: "total size",
                ..
            })
        ),
        "{r:?}"
    );
    let mut tar = RawTar::new();
    tar.entry(b"short", EntryType::Regular, b"", b"short", Some(100_000));
    let r = s.unpack(&tar.bytes, &opts());
    assert!(matches!(r, Err(Error::Archive { .. })), "{r:?}");
    s.assert_outside_intact();
}

fn size_limit_covers_the_whole_stream() {
    let s = Sandbox::new();
    let big = vec![7u8; 64 * 1024];
    let layer = RawTar::new()
        .entry(b"big", EntryType::Regular, b"", &big, None)
        .finish();
    let mut o = opts();
    o.max_size(10_000);
    let r = s.unpack(&layer, &o);
    assert!(
        matches!(r, Err(Error::LimitExceeded { limit: 10_000, .. })),
        "{r:?}"
    );
    // A PAX record larger than the limit is stopped while being read.
    let layer = RawTar::new()
        .pax(&[("comment", &big)])
        .file("x", "")
        .finish();
    let r = s.unpack(&layer, &o);
    assert!(matches!(r, Err(Error::LimitExceeded { .. })), "{r:?}");
    s.assert_outside_intact();
}

fn entry_count_bomb() {
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    for i in 0..100 {
        tar.file(&format!("f{i}"), "");
    }
    let mut o = opts();
    o.max_entries(10);
    let r = s.unpack(&tar.finish(), &o);
    assert!(
        matches!(
            r,
            Err(Error::LimitExceeded {
                what: "entry count",
                limit: 10
            })
        ),
        "{r:?}"
    );
    s.assert_outside_intact();
}

fn root_entry_may_only_be_a_directory() {
    let s = Sandbox::new();
    let r = s.unpack(
        &RawTar::new()
            .entry(b".", EntryType::Regular, b"", b"x", None)
            .finish(),
        &opts(),
    );
    assert!(r.is_err());
    let r = s.unpack(&RawTar::new().symlink(".", "/").finish(), &opts());
    assert!(r.is_err());
    s.assert_outside_intact();
}

fn devices_as_root_are_created_inside() {
    if !testkit::need::root() {
        return;
    }
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    mirror(&s, &mut tar);
    let layer = tar
        .symlink("dev", s.outside().to_str().unwrap())
        .entry(b"dev/fifo", EntryType::Fifo, b"", b"", None)
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert!(s.root().join(s.outside_rel()).join("fifo").exists());
    s.assert_outside_intact();
}

fn dangling_symlink_parent_fails_inside() {
    // The symlink's target does not exist inside the root: writing through
    // it fails rather than creating anything, inside or out.
    let s = Sandbox::new();
    let layer = RawTar::new()
        .symlink("evil", s.outside().to_str().unwrap())
        .file("evil/passwd", "pwned")
        .finish();
    let r = s.unpack(&layer, &opts());
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    s.assert_outside_intact();
}

fn self_referencing_symlink_loops_fail() {
    let s = Sandbox::new();
    let layer = RawTar::new()
        .symlink("etc", "/etc")
        .file("etc/passwd", "x")
        .finish();
    let r = s.unpack(&layer, &opts());
    assert!(matches!(r, Err(Error::Io { .. })), "{r:?}");
    s.assert_outside_intact();
}

/// A path longer than `PATH_MAX` whose first piece is plain directories
/// and whose second piece holds symlinks out of the root: each resolves
/// inside it (issue 14).
fn long_path_symlinks_in_a_later_piece_stay_inside() {
    let s = Sandbox::new();
    let mut tar = RawTar::new();
    mirror(&s, &mut tar);
    // 25 names of 200 bytes: the first 3,072-byte piece holds no symlink.
    let deep = crate::layer::long::deep_path(25, 'p');
    let outside = s.outside();
    let outside_dir = outside.join("dir");
    let climb = "../".repeat(30);
    let rel = format!("{climb}{}", s.outside_rel().join("dir").display());
    let link = |tar: &mut RawTar, name: String, target: &str| {
        tar.pax(&[("path", name.as_bytes()), ("linkpath", target.as_bytes())])
            .symlink("placeholder", "placeholder");
    };
    link(&mut tar, format!("{deep}/abs"), outside.to_str().unwrap());
    link(&mut tar, format!("{deep}/up"), &climb);
    link(&mut tar, format!("{deep}/rel"), &rel);
    link(&mut tar, format!("{deep}/chain"), "abs/dir");
    // Up into the first piece, down again, and out through `abs`.
    let down: Vec<&str> = deep.split('/').skip(15).collect();
    let back = format!("{}{}/abs", "../".repeat(10), down.join("/"));
    link(&mut tar, format!("{deep}/back"), &back);
    for (name, data) in [
        ("abs/secret", "pwned abs"),
        ("up/escape", "pwned up"),
        ("rel/passwd", "pwned rel"),
        ("chain/chained", "pwned chain"),
        ("back/via-back", "pwned back"),
    ] {
        tar.pax(&[("path", format!("{deep}/{name}").as_bytes())])
            .file("placeholder", data);
    }
    // A hard link whose long target goes through an escaping symlink.
    tar.pax(&[
        ("path", b"hardlink"),
        ("linkpath", format!("{deep}/rel/passwd").as_bytes()),
    ])
    .hardlink("placeholder", "placeholder");
    s.unpack(&tar.finish(), &opts()).unwrap();
    let inner = s.root().join(s.outside_rel());
    let read = |p: std::path::PathBuf| fs::read_to_string(p).unwrap();
    assert_eq!(read(inner.join("secret")), "pwned abs");
    assert_eq!(read(s.root().join("escape")), "pwned up");
    assert_eq!(read(inner.join("dir/passwd")), "pwned rel");
    assert_eq!(read(inner.join("dir/chained")), "pwned chain");
    assert_eq!(read(inner.join("via-back")), "pwned back");
    assert_eq!(read(s.root().join("hardlink")), "pwned rel");
    assert_eq!(read(outside_dir.join("passwd")), "root:x:0:0");
    s.assert_outside_intact();
}

/// `..` in a path longer than `PATH_MAX` is cleaned as in a short one:
/// refused when it climbs above the root.
fn long_path_dotdot_is_refused() {
    let s = Sandbox::new();
    let deep = crate::layer::long::deep_path(25, 'q');
    let up = "../".repeat(26);
    let escape = format!("{deep}/{up}escape");
    let layer = RawTar::new()
        .pax(&[("path", escape.as_bytes())])
        .file("placeholder", "x")
        .finish();
    escapes(s.unpack(&layer, &opts()));
    // Climbing back to the root exactly is allowed and lands inside.
    let inside = format!("{deep}/{}/back", "../".repeat(25));
    let layer = RawTar::new()
        .pax(&[("path", inside.as_bytes())])
        .file("placeholder", "x")
        .finish();
    s.unpack(&layer, &opts()).unwrap();
    assert!(s.root().join("back").is_file());
    s.assert_outside_intact();
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    dotdot_is_refused,
    pax_path_dotdot_is_refused,
    absolute_names_land_inside,
    symlink_then_file_stays_inside,
    symlink_chain_stays_inside,
    file_over_symlink_replaces_the_link,
    directory_replaced_by_symlink_mid_layer,
    hardlink_escapes_are_refused,
    hardlink_to_etc_passwd_stays_inside,
    whiteouts_of_parents_are_refused,
    device_nodes_rootless_are_skipped,
    short_body_and_huge_sizes,
    size_limit_covers_the_whole_stream,
    entry_count_bomb,
    root_entry_may_only_be_a_directory,
    devices_as_root_are_created_inside,
    dangling_symlink_parent_fails_inside,
    self_referencing_symlink_loops_fail,
    long_path_symlinks_in_a_later_piece_stay_inside,
    long_path_dotdot_is_refused
];
