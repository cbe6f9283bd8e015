//! pack -> unpack round trips of trees with every entry type.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use ocikit_image::{pack, unpack, IdMap, IdMapping, PackOptions, Privileges, UnpackOptions};
use ocikit_types::Compression;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, Timespec, Timestamps};

use crate::layer::common::{snapshot, RawTar};

fn set_mtime(p: &Path, secs: i64) {
    let t = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rfs::utimensat(
        rfs::CWD,
        p,
        &Timestamps {
            last_access: t,
            last_modification: t,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

/// A tree with files, modes, owners, nested and long names, symlinks
/// (relative, absolute, dangling), hard links, a FIFO, a character device
/// when root, and extended attributes; every time set.
pub(crate) fn make_tree(dir: &Path) {
    fs::create_dir_all(dir.join("etc/conf.d")).unwrap();
    fs::write(dir.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    fs::write(dir.join("etc/conf.d/empty"), "").unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(dir.join("big.bin"), &big).unwrap();
    fs::write(dir.join("suid"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(dir.join("private"), "secret").unwrap();
    fs::set_permissions(dir.join("private"), fs::Permissions::from_mode(0o600)).unwrap();
    let long = "d".repeat(120);
    fs::create_dir_all(dir.join(&long)).unwrap();
    fs::write(dir.join(&long).join("f".repeat(150)), "long name").unwrap();
    symlink("hosts", dir.join("etc/rel-link")).unwrap();
    symlink("/etc/passwd", dir.join("abs-link")).unwrap();
    symlink("../../nowhere", dir.join("dangling")).unwrap();
    symlink("t".repeat(200), dir.join("long-target")).unwrap();
    fs::hard_link(dir.join("etc/hosts"), dir.join("hosts-hardlink")).unwrap();
    rfs::mknodat(
        rfs::CWD,
        dir.join("fifo"),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
    fs::create_dir(dir.join("ro-dir")).unwrap();
    fs::write(dir.join("ro-dir/inner"), "x").unwrap();
    rfs::setxattr(
        dir.join("etc/hosts"),
        "user.ocikit",
        b"value",
        rfs::XattrFlags::empty(),
    )
    .unwrap();
    if testkit::need::is_root() {
        rfs::mknodat(
            rfs::CWD,
            dir.join("null"),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o666),
            rfs::makedev(1, 3),
        )
        .unwrap();
        rfs::chownat(
            rfs::CWD,
            dir.join("private"),
            Some(rfs::Uid::from_raw(1234)),
            Some(rfs::Gid::from_raw(5678)),
            AtFlags::empty(),
        )
        .unwrap();
    }
    let mut paths: Vec<_> = snapshot(dir).into_keys().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for (i, p) in paths.iter().enumerate() {
        set_mtime(&dir.join(p), 1_600_000_000 + i as i64);
    }
    fs::set_permissions(dir.join("ro-dir"), fs::Permissions::from_mode(0o555)).unwrap();
    set_mtime(&dir.join("ro-dir"), 1_500_000_000);
}

fn round_trip(compression: Compression) {
    let src = tempfile::tempdir().unwrap();
    make_tree(src.path());
    let mut blob = Vec::new();
    let mut po = PackOptions::new();
    po.compression(compression);
    let packed = pack(src.path(), &mut blob, &po).unwrap();
    assert_eq!(packed.size, blob.len() as u64);

    let dst = tempfile::tempdir().unwrap();
    let mut uo = UnpackOptions::new();
    uo.expected_blob_digest(packed.blob_digest.clone())
        .expected_diff_id(packed.diff_id.clone());
    let report = unpack(&blob[..], dst.path(), &uo).unwrap();
    assert_eq!(report.compression, compression);
    assert_eq!(report.diff_id, packed.diff_id);
    assert_eq!(report.entries, packed.entries);
    assert_eq!(snapshot(dst.path()), snapshot(src.path()));

    let a = fs::metadata(dst.path().join("etc/hosts")).unwrap();
    let b = fs::metadata(dst.path().join("hosts-hardlink")).unwrap();
    assert_eq!(a.ino(), b.ino(), "hard links share an inode");
    let mut v = [0u8; 16];
    let n = rfs::getxattr(dst.path().join("etc/hosts"), "user.ocikit", &mut v[..]).unwrap();
    assert_eq!(&v[..n], b"value");
    if testkit::need::is_root() {
        assert_eq!(
            fs::metadata(dst.path().join("private")).unwrap().uid(),
            1234
        );
    }
}

fn round_trip_plain() {
    round_trip(Compression::None);
}

fn round_trip_gzip() {
    round_trip(Compression::Gzip);
}

fn round_trip_zstd() {
    round_trip(Compression::Zstd);
}

fn packing_is_deterministic_and_diff_id_ignores_compression() {
    let src = tempfile::tempdir().unwrap();
    make_tree(src.path());
    let mut reports = Vec::new();
    for c in [
        Compression::Gzip,
        Compression::Gzip,
        Compression::Zstd,
        Compression::None,
    ] {
        let mut po = PackOptions::new();
        po.compression(c).source_date_epoch(1_550_000_000);
        let mut blob = Vec::new();
        reports.push((pack(src.path(), &mut blob, &po).unwrap(), blob));
    }
    assert_eq!(reports[0], reports[1]);
    assert!(reports
        .iter()
        .all(|(r, _)| r.diff_id == reports[0].0.diff_id));
    assert_ne!(reports[0].0.blob_digest, reports[2].0.blob_digest);
    // The epoch clamps times.
    let dst = tempfile::tempdir().unwrap();
    unpack(&reports[0].1[..], dst.path(), &UnpackOptions::new()).unwrap();
    for (path, node) in snapshot(dst.path()) {
        let want = if path == "ro-dir" {
            1_500_000_000
        } else {
            1_550_000_000
        };
        assert_eq!(node.mtime, Some(want), "{path}");
    }
}

fn rootless_maps_or_keeps_owners_and_skips_devices() {
    let mut tar = RawTar::new();
    tar.file("owned", "x")
        .entry(b"null", tar::EntryType::Char, b"", b"", None);
    // Make `owned` belong to 1234:1234 in the archive.
    let mut layer = tar.finish();
    {
        let h = tar::Header::from_byte_slice(&layer[..512]).clone();
        let mut h = h;
        h.set_uid(1234);
        h.set_gid(1234);
        h.set_cksum();
        layer[..512].copy_from_slice(h.as_bytes());
    }
    let me = rustix::process::geteuid().as_raw();

    let dst = tempfile::tempdir().unwrap();
    let mut o = UnpackOptions::new();
    o.privileges(Privileges::Rootless);
    let r = unpack(&layer[..], dst.path(), &o).unwrap();
    assert_eq!((r.entries, r.skipped), (1, 1));
    assert_eq!(fs::metadata(dst.path().join("owned")).unwrap().uid(), me);
    assert!(!dst.path().join("null").exists());

    if testkit::need::is_root() {
        let dst = tempfile::tempdir().unwrap();
        o.id_map(IdMap::new(
            vec![IdMapping::new(0, 100_000, 65_536)],
            vec![IdMapping::new(0, 200_000, 65_536)],
        ));
        unpack(&layer[..], dst.path(), &o).unwrap();
        let md = fs::metadata(dst.path().join("owned")).unwrap();
        assert_eq!((md.uid(), md.gid()), (101_234, 201_234));
    } else {
        eprintln!("skipped: id-mapped part of the rootless test needs root");
    }
}

/// Multi-threaded zstd must still give the same bytes every time.
fn zstd_packs_are_reproducible() {
    let src = tempfile::tempdir().unwrap();
    for i in 0..200 {
        std::fs::write(
            src.path().join(format!("f{i}")),
            vec![i as u8; 40_000 + i * 97],
        )
        .unwrap();
    }
    let mut opts = ocikit_image::PackOptions::new();
    opts.compression(ocikit_types::Compression::Zstd);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let ra = ocikit_image::pack(src.path(), &mut a, &opts).unwrap();
    let rb = ocikit_image::pack(src.path(), &mut b, &opts).unwrap();
    assert_eq!(ra.blob_digest, rb.blob_digest);
    assert_eq!(a, b);
    let dst = tempfile::tempdir().unwrap();
    let mut o = ocikit_image::UnpackOptions::new();
    o.expected_blob_digest(ra.blob_digest.clone())
        .expected_diff_id(ra.diff_id.clone());
    ocikit_image::unpack(&a[..], dst.path(), &o).unwrap();
    assert_eq!(
        std::fs::read(dst.path().join("f199")).unwrap().len(),
        40_000 + 199 * 97
    );
}

/// zstd layers hash the blob on the applying stage and the tar stream on
/// the decompressing one: both digests must still be exact, and a wrong
/// one must be named.
fn zstd_digests_are_checked_on_either_stage() {
    use ocikit_image::{Error, LayerDigestKind};
    use ocikit_types::{Compression, Digest};
    let src = tempfile::tempdir().unwrap();
    for i in 0..50 {
        std::fs::write(src.path().join(format!("f{i}")), vec![i as u8; 300_000]).unwrap();
    }
    let mut opts = ocikit_image::PackOptions::new();
    opts.compression(Compression::Zstd);
    let mut blob = Vec::new();
    let packed = ocikit_image::pack(src.path(), &mut blob, &opts).unwrap();
    let unpack = |blob_digest: Digest, diff_id: Digest| {
        let dst = tempfile::tempdir().unwrap();
        let mut o = ocikit_image::UnpackOptions::new();
        o.compression(Compression::Zstd)
            .expected_blob_digest(blob_digest)
            .expected_diff_id(diff_id);
        ocikit_image::unpack(&blob[..], dst.path(), &o)
    };
    let report = unpack(packed.blob_digest.clone(), packed.diff_id.clone()).unwrap();
    assert_eq!(report.blob_digest, packed.blob_digest);
    assert_eq!(report.diff_id, packed.diff_id);
    let wrong = Digest::sha256(b"wrong");
    match unpack(wrong.clone(), packed.diff_id.clone()) {
        Err(Error::LayerDigestMismatch {
            kind: LayerDigestKind::Blob,
            found,
            ..
        }) => assert_eq!(found, packed.blob_digest),
        other => panic!("expected a blob digest mismatch, got {other:?}"),
    }
    match unpack(packed.blob_digest.clone(), wrong) {
        Err(Error::LayerDigestMismatch {
            kind: LayerDigestKind::DiffId,
            found,
            ..
        }) => assert_eq!(found, packed.diff_id),
        other => panic!("expected a diff ID mismatch, got {other:?}"),
    }
}

/// Files owned by the unpacking user get no chown and a mode the umask
/// leaves alone no chmod; the result must be the same as with them: the
/// owner the archive says even in a set-group-ID directory (whose new
/// files would take its group), and modes exact whatever the umask.
fn owners_and_modes_exact_without_redundant_calls() {
    if !testkit::need::root() {
        return;
    }
    let mut tar = RawTar::new();
    tar.file("sgid/a", "a")
        .file("plain/b", "b")
        .file("plain/c", "c");
    let mut layer = tar.finish();
    // Entry 3 (plain/c): mode 0666, which umask 022 would narrow.
    {
        let at = 2 * 1024;
        let mut h = tar::Header::from_byte_slice(&layer[at..at + 512]).clone();
        h.set_mode(0o666);
        h.set_cksum();
        layer[at..at + 512].copy_from_slice(h.as_bytes());
    }
    let dst = tempfile::tempdir().unwrap();
    fs::create_dir(dst.path().join("sgid")).unwrap();
    std::os::unix::fs::chown(dst.path().join("sgid"), Some(0), Some(4321)).unwrap();
    fs::set_permissions(
        dst.path().join("sgid"),
        std::os::unix::fs::PermissionsExt::from_mode(0o2775),
    )
    .unwrap();
    unpack(&layer[..], dst.path(), &UnpackOptions::new()).unwrap();
    let md = |p: &str| fs::metadata(dst.path().join(p)).unwrap();
    // The archive says 0:0; the set-group-ID parent must not win.
    assert_eq!((md("sgid/a").uid(), md("sgid/a").gid()), (0, 0));
    assert_eq!((md("plain/b").uid(), md("plain/b").gid()), (0, 0));
    assert_eq!(md("plain/b").permissions().mode() & 0o7777, 0o644);
    assert_eq!(md("plain/c").permissions().mode() & 0o7777, 0o666);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    round_trip_plain,
    round_trip_gzip,
    round_trip_zstd,
    packing_is_deterministic_and_diff_id_ignores_compression,
    rootless_maps_or_keeps_owners_and_skips_devices,
    zstd_packs_are_reproducible,
    zstd_digests_are_checked_on_either_stage,
    owners_and_modes_exact_without_redundant_calls
];
