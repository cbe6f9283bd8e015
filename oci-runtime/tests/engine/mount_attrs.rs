//! Issue 20: the recursive mount options of runtime-spec 1.1 reach every
//! mount below the destination, and options the runtime would drop are
//! refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use ocikit_runtime::CreateOptions;
use ocikit_types::runtime::Mount;

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    (
        "mount_attrs::recursive_options_reach_submounts",
        recursive_options_reach_submounts,
    ),
    (
        "mount_attrs::options_that_would_be_dropped_are_refused",
        options_that_would_be_dropped_are_refused,
    ),
];

/// A host directory with a tmpfs mounted on its `sub`, unmounted on drop.
struct TreeWithSubmount {
    dir: tempfile::TempDir,
}

impl TreeWithSubmount {
    fn new() -> TreeWithSubmount {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "tmpfs"])
            .arg(dir.path().join("sub"))
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs: {st}");
        TreeWithSubmount { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn sub(&self) -> PathBuf {
        self.dir.path().join("sub")
    }
}

impl Drop for TreeWithSubmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.sub()).status();
    }
}

fn recursive_options_reach_submounts() {
    if !root_or_skip() {
        return;
    }
    let tree = TreeWithSubmount::new();
    let script = "touch /data/top 2>/dev/null && echo top-writable; \
                  touch /data/sub/inner 2>/dev/null && echo sub-writable; \
                  grep ' /data/sub ' /proc/self/mountinfo";

    // The plain `ro` reaches the bind's top mount only: that is why the
    // recursive options exist.
    let mut b = Bundle::new(&["sh", "-c", script]);
    let src = tree.path().to_str().unwrap();
    b.spec
        .mounts
        .push(Mount::new("/data", "bind", src, &["rbind", "ro"]));
    let (code, out) = b.run("t-mnt-ro");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("top-writable"), "{out}");
    assert!(out.contains("sub-writable"), "{out}");
    std::fs::remove_file(tree.sub().join("inner")).unwrap();

    let mut b = Bundle::new(&["sh", "-c", script]);
    b.spec.mounts.push(Mount::new(
        "/data",
        "bind",
        src,
        &["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime"],
    ));
    let (code, out) = b.run("t-mnt-rro");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("top-writable"), "{out}");
    assert!(!out.contains("sub-writable"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(" /data/sub "))
        .unwrap_or_else(|| panic!("no /data/sub in mountinfo: {out}"));
    let opts: Vec<&str> = line.split(' ').nth(5).unwrap().split(',').collect();
    for want in ["ro", "nosuid", "nodev", "noexec", "noatime"] {
        assert!(opts.contains(&want), "{want} missing from {line}");
    }
    assert!(!tree.sub().join("inner").exists());
    assert!(!tree.path().join("top").exists());

    // On a tmpfs (not a bind) too, and `rrw` after `rro` wins.
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "touch /scratch/x && grep ' /scratch ' /proc/self/mountinfo",
    ]);
    b.spec.mounts.push(Mount::new(
        "/scratch",
        "tmpfs",
        "tmpfs",
        &["rro", "rrw", "rnosymfollow"],
    ));
    let (code, out) = b.run("t-mnt-rrw");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nosymfollow"), "{out}");
}

fn options_that_would_be_dropped_are_refused() {
    if !root_or_skip() {
        return;
    }
    let tree = TreeWithSubmount::new();
    let src = tree.path().to_str().unwrap();
    for (i, opts) in [
        &["rbind", "rsync"][..],
        &["bind", "size=1m"][..],
        &["rbind", "rro", "rremount"][..],
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = Bundle::new(&["true"]);
        b.spec.mounts.push(Mount::new("/data", "bind", src, opts));
        b.write();
        let id = format!("t-mnt-bad{i}");
        let e =
            b.rt.create(&id, b.path(), CreateOptions::new())
                .unwrap_err();
        let bad = opts.last().unwrap();
        assert!(
            e.to_string().contains(&format!("{bad:?} on /data")),
            "{opts:?}: {e}"
        );
        assert!(b.rt.state(&id).unwrap_err().is_not_found(), "{opts:?}");
    }
}
