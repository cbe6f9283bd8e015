//! Bundles from images, run by the real runc.

use std::process::Command;

use ocikit_image::{create_bundle, ImageBuilder, Layout, PackOptions, UnpackOptions};
use ocikit_types::Platform;

/// A busybox rootfs with a user `app` (1000) in group `wheel` (10).
fn busybox_rootfs(dir: &std::path::Path) {
    testkit::busybox::rootfs(dir);
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("etc/group"),
        "root:x:0:\napp:x:1000:\nwheel:x:10:app\n",
    )
    .unwrap();
}

fn an_image_becomes_a_bundle_that_runc_runs() {
    if !testkit::need::root_and(&["runc"]) || !testkit::busybox::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("src");
    busybox_rootfs(&rootfs);
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let mut b = ImageBuilder::new(&layout, Platform::host());
    b.add_layer_from_dir(&rootfs, &PackOptions::new(), Some("COPY busybox"))
        .unwrap();
    let c = b.config_mut();
    c.user = Some("app".into());
    c.env = Some(vec!["GREETING=hello".into(), "PATH=/bin".into()]);
    c.entrypoint = Some(vec!["/bin/sh".into(), "-c".into()]);
    c.cmd = Some(vec!["echo $GREETING; id -u; id -G; pwd".into()]);
    c.working_dir = Some("/etc".into());
    let manifest = b.write().unwrap();
    layout.tag("v1", manifest).unwrap();

    let bundle = dir.path().join("bundle");
    let report = create_bundle(
        &layout,
        &layout.resolve("v1").unwrap(),
        &bundle,
        &UnpackOptions::new(),
    )
    .unwrap();
    assert_eq!(report.layers.len(), 1);
    assert_eq!(
        report
            .spec
            .process
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .uid,
        1000
    );

    let state = dir.path().join("runc-state");
    let out = Command::new("runc")
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(format!("ocikit-bundle-{}", std::process::id()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "runc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\n1000\n1000 10\n/etc\n"
    );
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![an_image_becomes_a_bundle_that_runc_runs];
