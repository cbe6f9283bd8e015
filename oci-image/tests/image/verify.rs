//! `Layout::verify` (issue 21) and layouts with sha512 documents
//! (issue 14).

use ocikit_image::{
    export_layout, import_layout, GcMode, ImageBuilder, Layout, PackOptions, Problem, Referrer,
};
use ocikit_types::{Algorithm, ImageManifest, Platform, Raw};

/// A layout with a tagged image of two layers and an untagged index
/// entry; returns the layout and the manifest.
fn image(dir: &std::path::Path, algorithm: Algorithm) -> (Layout, Raw<ImageManifest>) {
    let layout = Layout::create(dir.join("layout")).unwrap();
    let mut b = ImageBuilder::new(&layout, Platform::new("linux", "amd64"));
    b.digest_algorithm(algorithm);
    for content in ["one", "two"] {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join(content), content).unwrap();
        b.add_layer_from_dir(src.path(), &PackOptions::new(), None)
            .unwrap();
    }
    b.config_mut().cmd = Some(vec!["/bin/true".into()]);
    let desc = b.write().unwrap();
    layout.tag("v1", desc.clone()).unwrap();
    let manifest = layout.read_document(&desc).unwrap();
    (layout, manifest)
}

fn a_clean_layout_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = image(dir.path(), Algorithm::Sha256);
    let report = layout.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // Manifest, config, two layers.
    assert_eq!(report.blobs, 4);
    assert_eq!(report.references, 4);
}

fn verify_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, manifest) = image(dir.path(), Algorithm::Sha256);
    let m = manifest.value();
    // A flipped byte in a layer, and a deleted config.
    let layer = &m.layers[1];
    let path = layout.blob_path(&layer.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    std::fs::remove_file(layout.blob_path(&m.config.digest)).unwrap();

    let report = layout.verify().unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.problems.len(), 2, "{:#?}", report.problems);
    match &report.problems[0] {
        Problem::CorruptBlob { expected, found } => {
            assert_eq!(expected, &layer.digest);
            assert_ne!(found, &layer.digest);
            assert_eq!(found.algorithm(), "sha256");
        }
        other => panic!("expected CorruptBlob, got {other:?}"),
    }
    assert_eq!(
        report.problems[1],
        Problem::MissingBlob {
            digest: m.config.digest.clone(),
            referrer: Referrer::Document(manifest.digest().clone()),
        }
    );
    let text = report.problems[1].to_string();
    assert!(text.contains(m.config.digest.as_str()), "{text}");
    assert!(text.contains(manifest.digest().as_str()), "{text}");
    assert!(report.problems[0].to_string().contains("corrupt"));

    // A missing manifest is reported against index.json.
    std::fs::remove_file(layout.blob_path(manifest.digest())).unwrap();
    let report = layout.verify().unwrap();
    assert!(report.problems.contains(&Problem::MissingBlob {
        digest: manifest.digest().clone(),
        referrer: Referrer::IndexJson,
    }));
}

/// Issue 14: an image whose manifest and config are sha512 documents is
/// stored, tagged, resolved, verified, kept by gc, and travels as a
/// layout tar.
fn sha512_images_store_and_travel() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, manifest) = image(dir.path(), Algorithm::Sha512);
    let desc = layout.resolve("v1").unwrap();
    assert_eq!(desc.digest.algorithm(), "sha512");
    assert_eq!(&desc.digest, manifest.digest());
    let config = &manifest.value().config;
    assert_eq!(config.digest.algorithm(), "sha512");
    assert!(layout
        .blob_path(&desc.digest)
        .starts_with(layout.path().join("blobs/sha512")));
    assert!(layout.has_blob(&config.digest));
    // By digest, too.
    assert_eq!(
        layout.resolve(desc.digest.as_str()).unwrap().digest,
        desc.digest
    );

    let report = layout.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.blobs, 4);

    let gc = layout.gc(GcMode::Delete).unwrap();
    assert!(gc.blobs.is_empty(), "gc removed {:?}", gc.blobs);
    assert!(layout.has_blob(&desc.digest) && layout.has_blob(&config.digest));

    let mut tar = Vec::new();
    export_layout(&layout, &mut tar).unwrap();
    let copy = import_layout(&tar[..], dir.path().join("copy")).unwrap();
    let again = copy.resolve("v1").unwrap();
    assert_eq!(again.digest, desc.digest);
    assert!(copy.verify().unwrap().is_ok());
    let bundle = dir.path().join("bundle");
    let r = ocikit_image::create_bundle(&copy, &again, &bundle, &Default::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(r.rootfs.join("two")).unwrap(),
        "two"
    );
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    a_clean_layout_verifies,
    verify_reports_every_problem,
    sha512_images_store_and_travel
];
