//! Short, private temporary directories.

use std::sync::atomic::{AtomicU32, Ordering};

/// A private temporary directory named `ocikit-PREFIX-PID-N`, removed on
/// drop. The name is short and lowercase: podman limits its run root to
/// 50 characters (so a long `TMPDIR` is passed over for `/tmp`) and
/// derives an image name from an `oci:` path.
pub fn dir(prefix: &str) -> tempfile::TempDir {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let prefix = prefix.to_lowercase().replace('_', "-");
    let tmp = std::env::temp_dir();
    let base = tmp.to_str().filter(|t| t.len() <= 16).unwrap_or("/tmp");
    tempfile::Builder::new()
        .prefix(&format!("ocikit-{prefix}-{}-{n}", std::process::id()))
        .rand_bytes(0)
        .tempdir_in(base)
        .expect("a temporary directory")
}

/// A new, empty OCI image layout in a temporary directory (see [`dir`]),
/// removed with the directory.
///
/// # Panics
/// When the layout cannot be created.
pub fn layout(prefix: &str) -> (tempfile::TempDir, ocikit_image::Layout) {
    let tmp = dir(prefix);
    let layout = ocikit_image::Layout::create(tmp.path().join("layout")).expect("create a layout");
    (tmp, layout)
}
