//! Bundles from images, run by the real runc.

use std::process::Command;

use ocikit_image::{
    create_bundle, create_bundle_with, write_index, BundleOptions, Error, ImageBuilder, Layout,
    PackOptions, UnpackOptions,
};
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
pub(crate) fn small_image(
    layout: &Layout,
    platform: Platform,
    content: &str,
) -> (Descriptor, Descriptor) {
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
pub(crate) fn corrupt_gzip(layout: &Layout, layer: &Descriptor) {
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

/// Issue 21: a failed bundle leaves nothing behind, and an empty target
/// directory stays as it was.
fn failed_bundles_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let (good, _) = small_image(&layout, Platform::host(), "good");
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("second"), "2").unwrap();
    let mut b = ImageBuilder::from_base(&layout, &good).unwrap();
    let top = b
        .add_layer_from_dir(src.path(), &PackOptions::new(), None)
        .unwrap();
    let bad = b.write().unwrap();
    // The second layer's content no longer matches its digest (same size).
    let path = layout.blob_path(&top.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let parent = dir.path().join("bundles");
    std::fs::create_dir(&parent).unwrap();
    let target = parent.join("b");
    let err = create_bundle(&layout, &bad, &target, &UnpackOptions::new()).unwrap_err();
    match &err {
        Error::Layer { digest, .. } => assert_eq!(digest, &top.digest),
        other => panic!("expected Layer, got {other:?}"),
    }
    assert!(err.to_string().contains(top.digest.as_str()), "{err}");
    assert!(!target.exists());
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0, "leftovers");

    // An empty target: still there and empty after a failure...
    std::fs::create_dir(&target).unwrap();
    create_bundle(&layout, &bad, &target, &UnpackOptions::new()).unwrap_err();
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1, "leftovers");
    // ...and filled by a success.
    let report = create_bundle(&layout, &good, &target, &UnpackOptions::new()).unwrap();
    assert_eq!(
        std::fs::read_to_string(report.rootfs.join("file")).unwrap(),
        "good"
    );
    assert!(target.join("config.json").is_file());
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1, "leftovers");
    // A directory with content is not overwritten.
    let err = create_bundle(&layout, &good, &target, &UnpackOptions::new()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(target.join("config.json").is_file());
}

/// Issue 21: an index is resolved for the platform asked (the host by
/// default), never parsed as a manifest.
fn bundles_of_an_index_pick_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let host = Platform::host();
    let other = if host.architecture == "arm64" {
        Platform::new("linux", "amd64")
    } else {
        Platform::new("linux", "arm64")
    };
    let (m_host, _) = small_image(&layout, host.clone(), "host");
    let (m_other, _) = small_image(&layout, other.clone(), "other");
    let index = write_index(&layout, vec![m_host, m_other]).unwrap();
    layout.tag("multi", index.clone()).unwrap();
    let index = layout.resolve("multi").unwrap();

    let r = create_bundle(&layout, &index, dir.path().join("h"), &UnpackOptions::new()).unwrap();
    assert_eq!(
        std::fs::read_to_string(r.rootfs.join("file")).unwrap(),
        "host"
    );
    let mut o = BundleOptions::new();
    o.platform(other.clone());
    let r = create_bundle_with(&layout, &index, dir.path().join("o"), &o).unwrap();
    assert_eq!(
        std::fs::read_to_string(r.rootfs.join("file")).unwrap(),
        "other"
    );
    assert_eq!(
        r.spec.annotations["org.opencontainers.image.architecture"],
        other.architecture
    );

    let mut o = BundleOptions::new();
    o.platform(Platform::new("linux", "s390x"));
    let err = create_bundle_with(&layout, &index, dir.path().join("s"), &o).unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    match &err {
        Error::PlatformNotFound { source, .. } => {
            let msg = source.to_string();
            assert!(msg.contains("s390x"), "{msg}");
            assert!(
                msg.contains(&other.architecture),
                "lists what is there: {msg}"
            );
        }
        other => panic!("expected PlatformNotFound, got {other:?}"),
    }
    assert!(!dir.path().join("s").exists());
}

/// Issue 21: the process can be set at creation.
fn bundle_options_override_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();
    let (m, _) = small_image(&layout, Platform::host(), "x");
    // Written inline, in one expression.
    let r = create_bundle_with(
        &layout,
        &m,
        dir.path().join("b"),
        BundleOptions::new()
            .args(["/bin/migrate", "--all"])
            .env(["MODE=debug", "EXTRA=1"])
            .cwd("/srv")
            .user("app")
            .unpack_options(UnpackOptions::new().max_entries(100)),
    )
    .unwrap();
    let p = r.spec.process.as_ref().unwrap();
    assert_eq!(p.args, ["/bin/migrate", "--all"]);
    assert_eq!(p.env, ["PATH=/bin", "MODE=debug", "EXTRA=1"]);
    assert_eq!(p.cwd, "/srv");
    assert_eq!(p.user.as_ref().unwrap().uid, 1000);
    let written = std::fs::read_to_string(dir.path().join("b/config.json")).unwrap();
    assert!(written.contains("/bin/migrate"), "{written}");

    // Defaults: the image's own process.
    let r = create_bundle_with(&layout, &m, dir.path().join("d"), &BundleOptions::new()).unwrap();
    let p = r.spec.process.as_ref().unwrap();
    assert_eq!(p.args, ["/bin/server"]);
    assert_eq!(p.env, ["PATH=/bin", "MODE=prod"]);
    assert_eq!(p.cwd, "/");
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    an_image_becomes_a_bundle_that_runc_runs,
    corrupt_gzip_layer_names_its_digest,
    failed_bundles_leave_nothing_behind,
    bundles_of_an_index_pick_the_platform,
    bundle_options_override_the_process
];
