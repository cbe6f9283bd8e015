//! Paths longer than `PATH_MAX` (issue 14): deep `node_modules` and Java
//! package trees carry them, and GNU tar extracts them.

use std::process::Command;

use ocikit_image::{unpack, UnpackOptions};
use tar::{EntryType, Header};

use crate::layer::common::deep_snapshot;

/// `count` directory names of 200 bytes each, joined by `/`.
pub(crate) fn deep_path(count: usize, fill: char) -> String {
    (0..count)
        .map(|i| format!("{i:03}{}", fill.to_string().repeat(197)))
        .collect::<Vec<_>>()
        .join("/")
}

fn append(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, path: &str, link: &str, data: &[u8]) {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(match kind {
        EntryType::Directory => 0o750,
        // What Linux gives every symlink.
        EntryType::Symlink => 0o777,
        _ => 0o640,
    });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_234_567);
    h.set_size(data.len() as u64);
    if kind == EntryType::Symlink {
        b.append_link(&mut h, path, link).unwrap();
    } else {
        b.append_data(&mut h, path, data).unwrap();
    }
}

/// A layer with a 6,029-byte directory path unpacks, with the content,
/// modes and times it carries, as GNU tar lists them.
fn long_paths_unpack_like_gnu_tar() {
    if !testkit::need::tool("tar") {
        return;
    }
    // 30 names of 200 bytes: a 6,029-byte directory path.
    let deep = deep_path(30, 'n');
    assert!(deep.len() > 6_000);
    let names: Vec<&str> = deep.split('/').collect();
    let mut b = tar::Builder::new(Vec::new());
    for i in 1..=names.len() {
        append(&mut b, EntryType::Directory, &names[..i].join("/"), "", b"");
    }
    append(
        &mut b,
        EntryType::Regular,
        &format!("{deep}/file.txt"),
        "",
        b"deep content\n",
    );
    append(
        &mut b,
        EntryType::Symlink,
        &format!("{deep}/link"),
        "file.txt",
        b"",
    );
    // A file whose parent crosses PATH_MAX without a directory entry.
    append(
        &mut b,
        EntryType::Regular,
        &format!("{deep}/{}/implicit", deep_path(3, 'i')),
        "",
        b"made parents\n",
    );
    let layer = b.into_inner().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    std::fs::create_dir(&ours).unwrap();
    unpack(&layer[..], &ours, &UnpackOptions::new()).unwrap();

    let mine = deep_snapshot(&ours);
    let file = &mine[&format!("{deep}/file.txt")];
    assert_eq!(file.data, b"deep content\n");
    assert_eq!(file.mode, 0o640);
    assert_eq!(mine[&format!("{deep}/link")].data, b"file.txt");
    assert_eq!(mine[&deep].mode, 0o750);
    assert_eq!(mine[&deep].mtime, Some(1_234_567));
    let implicit = format!("{deep}/{}", deep_path(3, 'i'));
    assert_eq!(
        mine[&format!("{implicit}/implicit")].data,
        b"made parents\n"
    );

    // GNU tar 1.34 cannot extract a path this long (`Cannot mkdir: File
    // name too long`: it resolves each name whole), but it archives a
    // deep tree through directory handles. Its listing of our tree must be
    // its listing of the layer, plus the parents made on the way.
    std::fs::write(dir.path().join("layer.tar"), &layer).unwrap();
    let repacked = dir.path().join("repacked.tar");
    let out = Command::new("tar")
        .arg("-C")
        .arg(&ours)
        .arg("-cf")
        .arg(&repacked)
        .arg(".")
        .output()
        .unwrap();
    assert!(out.status.success(), "tar -c failed");
    let original = listing(&dir.path().join("layer.tar"));
    let theirs = listing(&repacked);
    let mut differ = Vec::new();
    for (name, attrs) in &original {
        if theirs.get(name) != Some(attrs) {
            differ.push((name.len(), attrs.clone(), theirs.get(name).cloned()));
        }
    }
    assert!(differ.is_empty(), "GNU tar sees another tree: {differ:?}");
    let extra: Vec<usize> = theirs
        .keys()
        .filter(|k| !original.contains_key(*k))
        .map(|k| {
            assert!(implicit.starts_with(k.as_str()), "unexpected entry");
            k.len()
        })
        .collect();
    assert_eq!(extra.len(), 3, "the three parents made on the way");
}

/// `tar -tv` of an archive: name (without `./` and a trailing `/`) to
/// mode, owner, size, time and link target.
fn listing(archive: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let out = Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvf"])
        .arg(archive)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar -t failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = f[5].trim_start_matches("./").trim_end_matches('/');
            let link = f[6..].join(" ");
            let attrs = format!("{} {} {} {} {} {link}", f[0], f[1], f[2], f[3], f[4]);
            (!name.is_empty() && name != ".").then(|| (name.to_owned(), attrs))
        })
        .collect()
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![long_paths_unpack_like_gnu_tar];
