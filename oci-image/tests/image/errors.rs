//! Issue 21: ocikit-image's errors, met as a user meets them, say what
//! and where at each layer and show each cause once.

use ocikit_image::{create_bundle, Layout, UnpackOptions};
use ocikit_types::{Descriptor, Digest, MediaType, Platform};
use testkit::errors::assert_each_cause_once;

use crate::bundle::{corrupt_gzip, small_image};

fn issue_21_each_error_shows_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("layout")).unwrap();

    // A file operation: what and which path, then the OS error.
    let err = Layout::create("/dev/null/layout").unwrap_err();
    let layers = assert_each_cause_once(&err, 2);
    assert!(layers[0].contains("/dev/null/layout"), "{layers:?}");

    // Not a layout.
    let err = Layout::open(dir.path()).unwrap_err();
    assert_each_cause_once(&err, 1);

    // A corrupt index.json: which file, then where in the document.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        bad.join("index.json"),
        r#"{"schemaVersion":2,"manifests":7}"#,
    )
    .unwrap();
    let err = Layout::open(&bad).and_then(|l| l.index()).unwrap_err();
    let layers = assert_each_cause_once(&err, 2);
    assert!(layers[0].contains("index.json"), "{layers:?}");
    assert!(layers[1].contains("$.manifests"), "{layers:?}");

    // Content that does not verify: the blob, then both digests.
    let d = layout.write_blob(MediaType::ImageLayer, b"abc").unwrap();
    std::fs::write(layout.blob_path(&d.digest), b"abd").unwrap();
    let err = layout.read_blob(&d).unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    let layers = assert_each_cause_once(&err, 2);
    assert!(layers[0].contains(d.digest.as_str()), "{layers:?}");

    // A missing blob.
    let missing = Descriptor::new(MediaType::ImageLayer, Digest::sha256(b"none"), 4);
    let err = layout.read_blob(&missing).unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_each_cause_once(&err, 1);

    // A corrupt layer in a bundle: the layer and layout, the stream, the
    // decompressor.
    let (manifest, layer) = small_image(&layout, Platform::host(), "x");
    corrupt_gzip(&layout, &layer);
    let err = create_bundle(
        &layout,
        &manifest,
        dir.path().join("b"),
        &UnpackOptions::new(),
    )
    .unwrap_err();
    assert_each_cause_once(&err, 3);

    // An unknown tag.
    let err = layout.resolve("nope").unwrap_err();
    assert_each_cause_once(&err, 1);
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![issue_21_each_error_shows_each_cause_once];
