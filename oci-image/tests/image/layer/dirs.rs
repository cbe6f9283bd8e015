//! Directory modes and times are set after the directory's entries
//! (issue 14): a read-only directory takes its children without
//! `CAP_DAC_OVERRIDE`, and its time is the archive's.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use ocikit_image::{unpack, UnpackOptions};
use tar::{EntryType, Header};

/// Set in the re-executed test binary: `LAYER:ROOT` to unpack as the
/// unprivileged user it runs as.
const CHILD_ENV: &str = "OCIKIT_IMAGE_TEST_UNPACK_CHILD";

/// The unprivileged user of the test machine.
const ROOTLESS_USER: &str = testkit::need::ROOTLESS_USER;

const MTIME: u64 = 1_111_111;

/// When this process is the re-executed child: unpacks and exits (0 on
/// success, 1 with the error chain on stderr).
pub(crate) fn child_if_requested() {
    let Ok(req) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (layer, root) = req.split_once(':').expect("LAYER:ROOT");
    let file = std::fs::File::open(layer).unwrap();
    match unpack(file, root, &UnpackOptions::new()) {
        Ok(_) => std::process::exit(0),
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("{chain}");
            std::process::exit(1)
        }
    }
}

fn append(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, path: &str, mode: u32, data: &[u8]) {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

/// Read-only and unsearchable directories listed before their entries.
fn locked_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, EntryType::Directory, "ro", 0o555, b"");
    append(&mut b, EntryType::Regular, "ro/file", 0o644, b"in ro\n");
    append(&mut b, EntryType::Directory, "ro/sub", 0o555, b"");
    append(
        &mut b,
        EntryType::Regular,
        "ro/sub/deeper",
        0o444,
        b"deeper\n",
    );
    // Readable but not searchable: its subdirectory must be finished first.
    append(&mut b, EntryType::Directory, "noexec", 0o600, b"");
    append(&mut b, EntryType::Directory, "noexec/inner", 0o755, b"");
    append(&mut b, EntryType::Regular, "noexec/inner/f", 0o644, b"f\n");
    b.into_inner().unwrap()
}

fn assert_locked_tree(root: &Path) {
    let md = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap();
    for (p, mode) in [
        ("ro", 0o555),
        ("ro/sub", 0o555),
        ("ro/file", 0o644),
        ("ro/sub/deeper", 0o444),
        ("noexec", 0o600),
        ("noexec/inner", 0o755),
        ("noexec/inner/f", 0o644),
    ] {
        let m = md(p);
        assert_eq!(m.mode() & 0o7777, mode, "mode of {p}");
        assert_eq!(m.mtime(), MTIME as i64, "mtime of {p}");
    }
    assert_eq!(
        std::fs::read_to_string(root.join("ro/sub/deeper")).unwrap(),
        "deeper\n"
    );
}

/// As root: each directory's time is the archive's although its children
/// were created after it.
fn directory_times_are_the_archives_after_their_children() {
    let dir = tempfile::tempdir().unwrap();
    unpack(&locked_layer()[..], dir.path(), &UnpackOptions::new()).unwrap();
    assert_locked_tree(dir.path());
}

/// Unpacked by an unprivileged user (no `CAP_DAC_OVERRIDE`): the
/// test binary runs itself again as `ocikit-rootless`.
fn read_only_directories_unpack_rootless() {
    if !testkit::need::root() {
        return;
    }
    let Some((uid, gid)) = testkit::need::user_ids(ROOTLESS_USER) else {
        testkit::need::missing(format!("needs the user {ROOTLESS_USER}"));
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let layer = dir.path().join("layer.tar");
    std::fs::write(&layer, locked_layer()).unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::os::unix::fs::chown(&root, Some(uid), Some(gid)).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .uid(uid)
        .gid(gid)
        .env(CHILD_ENV, format!("{}:{}", layer.display(), root.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rootless unpack failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_locked_tree(&root);
    assert_eq!(std::fs::metadata(root.join("ro/file")).unwrap().uid(), uid);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    directory_times_are_the_archives_after_their_children,
    read_only_directories_unpack_rootless
];
