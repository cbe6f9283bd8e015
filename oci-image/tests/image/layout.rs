//! The layout and its blob store: verified writes and reads, tags, gc,
//! crash safety.

use std::io::Read;
use std::time::Duration;

use ocikit_image::{Error, GcMode, Layout, Verification};
use ocikit_types::{
    Algorithm, Descriptor, Digest, Document, ImageConfiguration, ImageManifest, MediaType, Raw,
};

fn temp_files(layout: &Layout) -> usize {
    std::fs::read_dir(layout.path().join(".ocikit/tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn blobs_are_verified_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let good = Digest::sha256(b"content");

    // Wrong content for the digest: refused, nothing stored, no temp left.
    let err = layout
        .write_blob_from(&b"CONTENT"[..], Algorithm::Sha256, Some((&good, 7)))
        .unwrap_err();
    assert!(err.is_integrity(), "{err}");
    assert!(err.to_string().contains(good.as_str()), "{err}");
    assert!(!layout.has_blob(&good));
    assert!(!layout.has_blob(&Digest::sha256(b"CONTENT")));
    assert_eq!(temp_files(&layout), 0);

    // More bytes than described: refused as soon as they arrive.
    let err = layout
        .write_blob_from(
            &b"content and more"[..],
            Algorithm::Sha256,
            Some((&good, 7)),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Integrity { .. }), "{err}");

    // The right content lands under its digest.
    let (d, n) = layout
        .write_blob_from(&b"content"[..], Algorithm::Sha256, Some((&good, 7)))
        .unwrap();
    assert_eq!((d, n), (good.clone(), 7));
    assert_eq!(std::fs::read(layout.blob_path(&good)).unwrap(), b"content");

    // Other algorithms store under their own directory.
    let (d512, _) = layout
        .write_blob_from(&b"content"[..], Algorithm::Sha512, None)
        .unwrap();
    assert!(layout
        .blob_path(&d512)
        .starts_with(layout.path().join("blobs/sha512")));
}

fn blobs_are_verified_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let desc = layout
        .write_blob(MediaType::ImageLayer, b"original")
        .unwrap();
    assert_eq!(layout.read_blob(&desc).unwrap(), b"original");

    // Corrupt the stored blob without changing its size.
    std::fs::write(layout.blob_path(&desc.digest), b"tampered").unwrap();
    let err = layout.read_blob(&desc).unwrap_err();
    assert!(err.is_integrity(), "{err}");
    // The blob, then the mismatch with both digests (its cause).
    let chain = testkit::errors::assert_each_cause_once(&err, 2);
    assert!(chain[0].contains(desc.digest.as_str()));
    assert!(chain[1].contains(Digest::sha256(b"tampered").as_str()));

    // The size-only mode says what it skips, and reads it.
    let mut r = layout
        .open_blob(&desc, Verification::SizeOnlyUnverified)
        .unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"tampered");

    // A truncated blob fails before reading.
    std::fs::write(layout.blob_path(&desc.digest), b"short").unwrap();
    let err = layout.open_blob(&desc, Verification::Full).unwrap_err();
    assert!(
        testkit::errors::chain(&err)
            .join(": ")
            .contains("expected 8 bytes, found 5"),
        "{err}"
    );

    let missing = Descriptor::new(MediaType::ImageLayer, Digest::sha256(b"nope"), 4);
    assert!(layout.read_blob(&missing).unwrap_err().is_not_found());
}

fn open_refuses_what_is_not_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let err = Layout::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::NotALayout { .. }), "{err}");
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"9"}"#,
    )
    .unwrap();
    let err = Layout::open(dir.path()).unwrap_err();
    let chain = testkit::errors::chain(&err).join(": ");
    assert!(chain.contains("imageLayoutVersion"), "{chain}");
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("index.json"), b"{not json").unwrap();
    assert!(matches!(
        Layout::open(dir.path()).unwrap_err(),
        Error::Document { .. }
    ));
}

/// Writes a tiny image (config + one layer + manifest) and returns the
/// manifest's descriptor.
pub(crate) fn tiny_image(layout: &Layout, layer: &[u8], media_type: MediaType) -> Descriptor {
    let layer_desc = layout.write_blob(media_type, layer).unwrap();
    let mut config = ImageConfiguration::new("linux", "amd64");
    config.rootfs.diff_ids.push(Digest::sha256(layer));
    let config = Raw::from_value(config);
    let config_desc = layout
        .write_document(&config, MediaType::ImageConfig)
        .unwrap();
    let manifest = Raw::from_value(ImageManifest::new(config_desc, vec![layer_desc]));
    manifest.value().validate().unwrap();
    layout
        .write_document(&manifest, MediaType::ImageManifest)
        .unwrap()
}

fn tags_resolve_and_move() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let a = tiny_image(&layout, b"layer a", MediaType::ImageLayer);
    let b = tiny_image(&layout, b"layer b", MediaType::ImageLayer);
    layout.tag("v1", a.clone()).unwrap();
    layout.tag("v2", a.clone()).unwrap();
    layout.tag("v1", b.clone()).unwrap();
    assert_eq!(layout.resolve("v1").unwrap().digest, b.digest);
    assert_eq!(layout.resolve("v2").unwrap().digest, a.digest);
    assert_eq!(layout.index().unwrap().manifests.len(), 2);
    // By digest, in the index or only in the store.
    assert_eq!(layout.resolve(a.digest.as_str()).unwrap().digest, a.digest);
    assert_eq!(layout.untag("v2").unwrap(), 1);
    let found = layout.resolve(a.digest.as_str()).unwrap();
    assert_eq!(found.media_type, MediaType::ImageManifest);
    assert!(layout.resolve("v2").unwrap_err().is_not_found());
    let tags: Vec<String> = layout.tags().unwrap().into_iter().map(|(t, _)| t).collect();
    assert_eq!(tags, ["v1"]);
    // Reopening sees the same.
    let again = Layout::open(dir.path()).unwrap();
    assert_eq!(again.resolve("v1").unwrap().digest, b.digest);
}

fn concurrent_taggers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let m = tiny_image(&layout, b"layer", MediaType::ImageLayer);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (layout, m) = (layout.clone(), m.clone());
            s.spawn(move || {
                for i in 0..10 {
                    layout.tag(&format!("t{t}-{i}"), m.clone()).unwrap();
                }
            });
        }
    });
    assert_eq!(layout.tags().unwrap().len(), 80);
}

fn gc_keeps_what_is_reachable_and_referrers() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = tiny_image(&layout, b"layer", MediaType::ImageLayer);
    layout.tag("v1", image.clone()).unwrap();

    // A signature attached to the image through `subject`, not in index.json.
    let sig_blob = layout
        .write_blob(
            MediaType::Other("application/vnd.example.sig".into()),
            b"sig",
        )
        .unwrap();
    let mut sig = ImageManifest::new(Descriptor::empty(), vec![sig_blob.clone()]);
    sig.artifact_type = Some("application/vnd.example.sig".parse().unwrap());
    sig.subject = Some(image.clone());
    layout.write_blob(MediaType::EmptyJson, b"{}").unwrap();
    let sig = layout
        .write_document(&Raw::from_value(sig), MediaType::ImageManifest)
        .unwrap();

    // Garbage: an unreferenced blob and an untagged image.
    let orphan = layout.write_blob(MediaType::ImageLayer, b"orphan").unwrap();
    let untagged = tiny_image(&layout, b"other layer", MediaType::ImageLayer);

    let dry = layout.gc(GcMode::DryRun).unwrap();
    let doomed: Vec<&Digest> = dry.blobs.iter().map(|(d, _)| d).collect();
    assert!(doomed.contains(&&orphan.digest));
    assert!(doomed.contains(&&untagged.digest));
    assert!(!doomed.contains(&&sig.digest), "referrer must be kept");
    assert!(!doomed.contains(&&sig_blob.digest));
    assert!(layout.has_blob(&orphan.digest), "dry run deletes nothing");

    let done = layout.gc(GcMode::Delete).unwrap();
    assert_eq!(done.blobs, dry.blobs);
    assert!(!layout.has_blob(&orphan.digest));
    assert!(layout.has_blob(&sig.digest));
    // What remains still reads and verifies.
    let m: Raw<ImageManifest> = layout
        .read_document(&layout.resolve("v1").unwrap())
        .unwrap();
    for l in &m.value().layers {
        layout.read_blob(l).unwrap();
    }
    assert!(layout.gc(GcMode::Delete).unwrap().blobs.is_empty());
}

/// A write killed with SIGKILL leaves a layout that opens, verifies, and
/// whose leftover temp file gc removes.
fn crash_in_the_middle_of_a_write_leaves_a_sound_layout() {
    if let Ok(path) = std::env::var("OCIKIT_CRASH_CHILD") {
        // The child: write forever until killed.
        let layout = Layout::open(path).unwrap();
        let mut w = layout.blob_writer(Algorithm::Sha256).unwrap();
        let chunk = vec![7u8; 1 << 16];
        loop {
            std::io::Write::write_all(&mut w, &chunk).unwrap();
            std::io::Write::flush(&mut w).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path()).unwrap();
    let image = tiny_image(&layout, b"layer", MediaType::ImageLayer);
    layout.tag("v1", image).unwrap();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "layout::crash_in_the_middle_of_a_write_leaves_a_sound_layout",
            "--nocapture",
        ])
        .env("OCIKIT_CRASH_CHILD", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child's temp file holds data, then kill -9.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let size: u64 = std::fs::read_dir(dir.path().join(".ocikit/tmp"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        if size > 1 << 20 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "child wrote nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let layout = Layout::open(dir.path()).unwrap();
    let m: Raw<ImageManifest> = layout
        .read_document(&layout.resolve("v1").unwrap())
        .unwrap();
    layout.read_blob(&m.value().config).unwrap();
    assert_eq!(temp_files(&layout), 1);
    // The normal gc leaves young temp files alone; an explicit age of zero removes it.
    assert!(layout.gc(GcMode::Delete).unwrap().temp_files.is_empty());
    let report = layout
        .gc_with_temp_age(GcMode::Delete, Duration::ZERO)
        .unwrap();
    assert_eq!(report.temp_files.len(), 1);
    assert_eq!(temp_files(&layout), 0);
    assert!(report.blobs.is_empty());
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    blobs_are_verified_on_write,
    blobs_are_verified_on_read,
    open_refuses_what_is_not_a_layout,
    tags_resolve_and_move,
    concurrent_taggers_lose_nothing,
    gc_keeps_what_is_reachable_and_referrers,
    crash_in_the_middle_of_a_write_leaves_a_sound_layout
];
