//! Bundles from images, run by the real runc.

use std::process::Command;

use ocikit_image::{create_bundle, Error, ImageBuilder, Layout, PackOptions, UnpackOptions};
use ocikit_types::{Descriptor, Platform};

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

/// An image of one gzip layer holding `file` with `content`, for
/// `platform`; returns the manifest and the layer descriptors.
fn small_image(layout: &Layout, platform: Platform, content: &str) -> (Descriptor, Descriptor) {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("etc")).unwrap();
    std::fs::write(
        src.path().join("etc/passwd"),
        "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(src.path().join("file"), content).unwrap();
    let mut b = ImageBuilder::new(layout, platform);
    let layer = b
        .add_layer_from_dir(src.path(), &PackOptions::new(), None)
        .unwrap();
    let c = b.config_mut();
    c.cmd = Some(vec!["/bin/server".into()]);
    c.env = Some(vec!["PATH=/bin".into(), "MODE=prod".into()]);
    (b.write().unwrap(), layer)
}

/// Overwrites the gzip stream just after its 10-byte header with a
/// deflate block of the reserved type: the decompressor fails at once.
fn corrupt_gzip(layout: &Layout, layer: &Descriptor) {
    let path = layout.blob_path(&layer.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    bytes[10] = 0xff;
    std::fs::write(&path, bytes).unwrap();
}

fn chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut s = e.source();
    while let Some(e) = s {
        out.push(e.to_string());
        s = e.source();
    }
    out
}

/// Issue 21: a corrupt gzip layer is named, with the layout, and the
/// decompressor's error is the source.
fn corrupt_gzip_layer_names_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let (manifest, layer) = small_image(&layout, Platform::host(), "x");
    corrupt_gzip(&layout, &layer);
    let err = create_bundle(
        &layout,
        &manifest,
        dir.path().join("b"),
        &UnpackOptions::new(),
    )
    .unwrap_err();
    let msgs = chain(&err);
    match &err {
        Error::Layer {
            digest,
            layout: path,
            source,
        } => {
            assert_eq!(digest, &layer.digest);
            assert_eq!(path, layout.path());
            match &**source {
                Error::Decompress {
                    compression: "gzip",
                    layer: Some(d),
                    ..
                } => assert_eq!(d, &layer.digest),
                other => panic!("expected Decompress, got {other:?}"),
            }
        }
        other => panic!("expected Layer, got {other:?}"),
    }
    assert!(msgs[0].contains(layer.digest.as_str()), "{msgs:?}");
    assert!(
        msgs[0].contains(&layout.path().display().to_string()),
        "{msgs:?}"
    );
    assert!(
        msgs.len() >= 3,
        "the decompressor's error is a source: {msgs:?}"
    );
    // Each layer of the chain says only its own part.
    assert!(!msgs[0].contains(&msgs[1]), "{msgs:?}");

    // Unpacking the blob directly names it too, when told its digest.
    let mut o = UnpackOptions::new();
    o.expected_blob_digest(layer.digest.clone());
    let blob = std::fs::read(layout.blob_path(&layer.digest)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = ocikit_image::unpack(&blob[..], out.path(), &o).unwrap_err();
    assert!(matches!(err, Error::Decompress { .. }), "{err:?}");
    assert!(err.to_string().contains(layer.digest.as_str()), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    an_image_becomes_a_bundle_that_runc_runs,
    corrupt_gzip_layer_names_its_digest
];
