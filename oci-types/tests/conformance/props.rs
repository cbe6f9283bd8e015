//! Property tests: documents survive serde round trips, canonical bytes are
//! stable, and no parser panics on arbitrary bytes.

use std::collections::BTreeMap;

use ocikit_types::{
    Algorithm, Descriptor, Digest, Document, ErrorResponse, ImageConfiguration, ImageIndex,
    ImageManifest, MediaType, OciLayout, Platform, Raw, TagList,
};
use proptest::prelude::*;

fn digest() -> impl Strategy<Value = Digest> {
    (
        prop_oneof![
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512),
            Just(Algorithm::Blake3)
        ],
        proptest::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(a, b)| Digest::compute(a, &b))
}

fn media_type() -> impl Strategy<Value = MediaType> {
    prop_oneof![
        Just(MediaType::ImageLayerGzip),
        Just(MediaType::ImageLayerZstd),
        Just(MediaType::ImageConfig),
        Just(MediaType::ImageManifest),
        "[a-z]{1,8}/[a-z][a-z.+-]{0,20}".prop_map(|s| s.parse().unwrap()),
    ]
}

fn annotations() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map("[a-z.]{1,12}", "\\PC{0,12}", 0..3)
}

fn platform() -> impl Strategy<Value = Platform> {
    (
        "[a-z0-9]{1,8}",
        "[a-z]{1,8}",
        proptest::option::of("v[0-9]"),
    )
        .prop_map(|(arch, os, variant)| {
            let mut p = Platform::new(os, arch);
            p.variant = variant;
            p
        })
}

prop_compose! {
    fn descriptor()(
        media_type in media_type(),
        digest in digest(),
        size in 0u64..1 << 40,
        annotations in annotations(),
        platform in proptest::option::of(platform()),
        urls in proptest::collection::vec("https://[a-z]{1,8}\\.example/[a-z]{0,8}", 0..2),
    ) -> Descriptor {
        let mut d = Descriptor::new(media_type, digest, size);
        d.annotations = annotations;
        d.platform = platform;
        d.urls = urls;
        d
    }
}

fn round_trip<T: Document + PartialEq + std::fmt::Debug>(doc: &T) -> Result<(), TestCaseError> {
    let bytes = doc.to_canonical_vec();
    let back = T::from_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, doc);
    prop_assert_eq!(back.to_canonical_vec(), bytes.clone());
    let pretty = T::from_slice(doc.to_pretty_string().as_bytes())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&pretty, doc);
    let raw: Raw<T> = Raw::parse(bytes.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(raw.digest(), &Digest::sha256(&bytes));
    Ok(())
}

proptest! {
    fn descriptors_round_trip(d in descriptor()) {
        d.validate().map_err(|e| TestCaseError::fail(e.to_string()))?;
        round_trip(&d)?;
    }

    fn manifests_round_trip(config in descriptor(), layers in proptest::collection::vec(descriptor(), 1..5),
                            subject in proptest::option::of(descriptor()), annotations in annotations()) {
        let mut m = ImageManifest::new(config, layers);
        m.subject = subject;
        m.annotations = annotations;
        round_trip(&m)?;
    }

    fn indexes_round_trip(manifests in proptest::collection::vec(descriptor(), 0..5), annotations in annotations()) {
        let mut idx = ImageIndex::new(manifests);
        idx.annotations = annotations;
        round_trip(&idx)?;
    }

    fn configs_round_trip(p in platform(), diff_ids in proptest::collection::vec(digest(), 0..4),
                          env in proptest::collection::vec("[A-Z]{1,5}=[a-z]{0,5}", 0..3)) {
        let mut c = ImageConfiguration::new(p.os, p.architecture);
        c.variant = p.variant;
        c.rootfs.diff_ids = diff_ids;
        let mut cfg = ocikit_types::Config::default();
        cfg.env = Some(env);
        c.config = Some(cfg);
        c.validate().map_err(|e| TestCaseError::fail(e.to_string()))?;
        round_trip(&c)?;
    }

    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Descriptor::from_slice(&bytes).map(|d| d.validate());
        let _ = ImageManifest::from_slice(&bytes).map(|d| d.validate());
        let _ = ImageIndex::from_slice(&bytes).map(|d| d.validate());
        let _ = ImageConfiguration::from_slice(&bytes).map(|d| d.validate());
        let _ = OciLayout::from_slice(&bytes).map(|d| d.validate());
        let _ = ErrorResponse::from_slice(&bytes).map(|d| d.validate());
        let _ = TagList::from_slice(&bytes).map(|d| d.validate());
        let _ = ocikit_types::AnyManifest::from_slice(&bytes, None);
    }

    fn json_shaped_input_never_panics(s in r#"\{("[a-zA-Z]{1,12}":("[^"]{0,20}"|-?[0-9]{1,20}|\[\]|\{\}|null|true),?){0,6}\}"#) {
        let _ = Descriptor::from_slice(s.as_bytes()).map(|d| d.validate());
        let _ = ImageConfiguration::from_slice(s.as_bytes()).map(|d| d.validate());
        let _ = ImageManifest::from_slice(s.as_bytes()).map(|d| d.validate());
    }
}

/// Found by the `image_manifest` fuzz target: a huge number in an unknown
/// field lost its last bits in a canonical round trip until serde_json's
/// exact float parsing (`float_roundtrip`) was turned on.
fn regression_fuzz_unknown_float_survives_round_trip() {
    let bytes = br#"{"schemaVersion":2,"x":14555555555555555555555555555555555555555555555555555555555555555555555555555555570,
      "y":0.1,"z":1.0000000000000002e-308,
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":1470,
        "digest":"sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b"},"layers":[]}"#;
    let doc = ImageManifest::from_slice(bytes).unwrap();
    let again = ImageManifest::from_slice(&doc.to_canonical_vec()).unwrap();
    assert_eq!(again, doc);
    assert_eq!(again.to_canonical_vec(), doc.to_canonical_vec());
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    descriptors_round_trip,
    manifests_round_trip,
    indexes_round_trip,
    configs_round_trip,
    parsers_never_panic,
    json_shaped_input_never_panics,
    regression_fuzz_unknown_float_survives_round_trip
];
