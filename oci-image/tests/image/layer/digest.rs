//! Digest checks: both values reported on mismatch, every byte covered.

use ocikit_image::{pack, unpack, Error, LayerDigestKind, PackOptions, UnpackOptions};
use ocikit_types::{Compression, Digest};

use crate::layer::common::RawTar;

fn layer() -> (Vec<u8>, ocikit_image::PackReport) {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("f"), "content").unwrap();
    let mut blob = Vec::new();
    let r = pack(src.path(), &mut blob, &PackOptions::new()).unwrap();
    (blob, r)
}

fn wrong_diff_id_is_reported_with_both_values() {
    let (blob, packed) = layer();
    let wrong = Digest::sha256(b"not it");
    let dst = tempfile::tempdir().unwrap();
    let mut o = UnpackOptions::new();
    o.expected_blob_digest(packed.blob_digest.clone())
        .expected_diff_id(wrong.clone());
    let err = unpack(&blob[..], dst.path(), &o).unwrap_err();
    let msg = err.to_string();
    match err {
        Error::LayerDigestMismatch {
            layer,
            kind,
            expected,
            found,
        } => {
            assert_eq!(kind, LayerDigestKind::DiffId);
            assert_eq!(layer, packed.blob_digest);
            assert_eq!(expected, wrong);
            assert_eq!(found, packed.diff_id);
        }
        other => panic!("{other:?}"),
    }
    assert!(msg.contains(wrong.as_str()) && msg.contains(packed.diff_id.as_str()));
}

fn wrong_blob_digest_is_reported_with_both_values() {
    let (blob, packed) = layer();
    let wrong = Digest::sha256(b"not it");
    let dst = tempfile::tempdir().unwrap();
    let mut o = UnpackOptions::new();
    o.expected_blob_digest(wrong.clone());
    let err = unpack(&blob[..], dst.path(), &o).unwrap_err();
    assert!(err.is_integrity());
    match err {
        Error::LayerDigestMismatch {
            kind,
            expected,
            found,
            ..
        } => {
            assert_eq!(kind, LayerDigestKind::Blob);
            assert_eq!(expected, wrong);
            assert_eq!(found, packed.blob_digest);
        }
        other => panic!("{other:?}"),
    }
}

fn digests_cover_trailing_bytes() {
    // Extra zero blocks after the end-of-archive marker belong to the diff ID.
    let mut tar = RawTar::new().file("a", "x").finish();
    tar.extend(std::iter::repeat_n(0, 10 * 512));
    let dst = tempfile::tempdir().unwrap();
    let r = unpack(&tar[..], dst.path(), &UnpackOptions::new()).unwrap();
    assert_eq!(r.compression, Compression::None);
    assert_eq!(r.diff_id, Digest::sha256(&tar));
    assert_eq!(r.blob_digest, Digest::sha256(&tar));
}

fn unsupported_expected_algorithm() {
    let (blob, _) = layer();
    let dst = tempfile::tempdir().unwrap();
    let mut o = UnpackOptions::new();
    o.expected_diff_id(
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"
            .parse()
            .unwrap(),
    );
    let r = unpack(&blob[..], dst.path(), &o);
    assert!(
        matches!(r, Err(Error::UnsupportedAlgorithm { .. })),
        "{r:?}"
    );
}

fn explicit_compression_from_media_type() {
    let (blob, packed) = layer();
    let dst = tempfile::tempdir().unwrap();
    let mt = ocikit_types::MediaType::ImageLayerGzip;
    let mut o = UnpackOptions::new();
    o.compression(mt.layer_compression().unwrap());
    let r = unpack(&blob[..], dst.path(), &o).unwrap();
    assert_eq!(r.diff_id, packed.diff_id);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    wrong_diff_id_is_reported_with_both_values,
    wrong_blob_digest_is_reported_with_both_values,
    digests_cover_trailing_bytes,
    unsupported_expected_algorithm,
    explicit_compression_from_media_type
];
