//! `Layout::verify` (issue 21).

use ocikit_image::{ImageBuilder, Layout, PackOptions, Problem, Referrer};
use ocikit_types::{ImageManifest, Platform, Raw};

/// A layout with a tagged image of two layers and an untagged index
/// entry; returns the layout and the manifest.
fn image(dir: &std::path::Path) -> (Layout, Raw<ImageManifest>) {
    let layout = Layout::create(dir.join("layout")).unwrap();
    let mut b = ImageBuilder::new(&layout, Platform::new("amd64", "linux"));
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
    let (layout, _) = image(dir.path());
    let report = layout.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // Manifest, config, two layers.
    assert_eq!(report.blobs, 4);
    assert_eq!(report.references, 4);
}

fn verify_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, manifest) = image(dir.path());
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

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![a_clean_layout_verifies, verify_reports_every_problem];
