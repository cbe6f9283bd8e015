//! Busybox root filesystems and images, from Debian's `busybox-static`.

use std::path::Path;

use ocikit_image::{ImageBuilder, Layout, PackOptions};
use ocikit_types::{Descriptor, Platform};

/// Debian's static busybox.
pub const BINARY: &str = "/usr/bin/busybox";

/// The tools every busybox root filesystem gets, as symlinks to
/// `/bin/busybox`.
pub const TOOLS: &[&str] = &[
    "sh", "true", "false", "cat", "echo", "id", "hostname", "ls", "sleep", "touch", "test", "pwd",
    "env", "grep", "tty", "ps", "head", "wc", "kill", "mount", "date", "seq", "stat",
];

/// Whether the test can use busybox; records why not otherwise (see
/// [`crate::need`]).
pub fn available() -> bool {
    crate::need::tool(BINARY)
}

/// Fills `dir` with `/bin/busybox`, symlinks to it for [`TOOLS`], the
/// empty directories a container needs (`proc`, `sys`, `dev`, `tmp`,
/// `etc`, `out`), and `/etc/passwd` and `/etc/group` naming root alone.
///
/// # Panics
/// On any I/O error (busybox missing: check [`available`] first).
pub fn rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("create bin/");
    std::fs::copy(BINARY, bin.join("busybox")).expect("copy busybox");
    for tool in TOOLS {
        std::os::unix::fs::symlink("busybox", bin.join(tool)).expect("symlink a busybox tool");
    }
    for d in ["proc", "sys", "dev", "tmp", "etc", "out"] {
        std::fs::create_dir_all(dir.join(d)).expect("create a rootfs directory");
    }
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n")
        .expect("write /etc/passwd");
    std::fs::write(dir.join("etc/group"), "root:x:0:\n").expect("write /etc/group");
}

/// Builds a one-layer busybox image for the host platform in `layout`
/// (`PATH=/bin`, command `sh`), from a root filesystem made in
/// `scratch`, and returns its manifest's descriptor. `edit` changes the
/// image config before it is written.
///
/// # Panics
/// On any error.
pub fn image(
    layout: &Layout,
    scratch: &Path,
    edit: impl FnOnce(&mut ocikit_types::Config),
) -> Descriptor {
    let rootfs = scratch.join("busybox-rootfs");
    self::rootfs(&rootfs);
    let mut b = ImageBuilder::new(layout, Platform::host());
    b.add_layer_from_dir(&rootfs, &PackOptions::new(), Some("COPY busybox /"))
        .expect("pack the busybox layer");
    let c = b.config_mut();
    c.env = Some(vec!["PATH=/bin".into()]);
    c.cmd = Some(vec!["sh".into()]);
    edit(c);
    b.write().expect("write the busybox image")
}

/// A busybox bundle in `dir`: the root filesystem in `dir/rootfs`, and
/// returned (for the test to adjust, then write as `config.json`) the
/// config `runc spec` writes, with the terminal off and `args` to run.
///
/// # Panics
/// On any I/O error (busybox missing: check [`available`] first).
pub fn bundle(dir: &Path, args: &[&str]) -> ocikit_types::runtime::Spec {
    rootfs(&dir.join("rootfs"));
    let mut spec = ocikit_types::runtime::Spec::default_linux();
    let process = spec.process.as_mut().expect("runc spec has a process");
    process.terminal = false;
    process.args = args.iter().map(|a| (*a).to_owned()).collect();
    spec
}
