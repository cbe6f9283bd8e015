//! The 81 image-spec vectors.

use std::path::Path;

use ocikit_types::{
    Descriptor, Digest, DockerManifest, DockerManifestList, Document, Error, ImageConfiguration,
    ImageIndex, ImageManifest, OciLayout, Raw,
};

use crate::vectors;

fn verdict(schema: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let docker = name.starts_with("backwards_compatibility");
    match schema {
        "content-descriptor" => Descriptor::from_slice_validated(bytes).map(drop),
        "image-manifest" if docker => {
            let m = DockerManifest::from_slice_validated(bytes)?;
            m.to_oci().validate()
        }
        "image-manifest" => ImageManifest::from_slice_validated(bytes).map(drop),
        "image-index" if docker => {
            let m = DockerManifestList::from_slice_validated(bytes)?;
            m.to_oci().validate()
        }
        "image-index" => ImageIndex::from_slice_validated(bytes).map(drop),
        "config" => ImageConfiguration::from_slice_validated(bytes).map(drop),
        "image-layout" => OciLayout::from_slice_validated(bytes).map(drop),
        other => panic!("unknown schema folder {other}"),
    }
}

fn meta(case: &Path) -> serde_json::Value {
    let p = case.with_extension("meta.json");
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", p.display()))
}

fn image_spec_vectors_agree_with_upstream() {
    let Some(root) = vectors::root("image-spec") else {
        return;
    };
    let root = root.join("image-spec");
    let mut total = 0;
    let mut disagree = Vec::new();
    for schema in [
        "content-descriptor",
        "image-manifest",
        "image-index",
        "config",
        "image-layout",
    ] {
        for expect_valid in [true, false] {
            let dir = root
                .join(schema)
                .join(if expect_valid { "valid" } else { "invalid" });
            for case in vectors::cases(&dir) {
                total += 1;
                let name = case.file_name().unwrap().to_string_lossy().into_owned();
                let bytes = std::fs::read(&case).unwrap();
                let m = meta(&case);
                assert_eq!(
                    m["expect_fail"].as_bool(),
                    Some(!expect_valid),
                    "{name}: sidecar disagrees with folder"
                );
                if let Some(d) = m["expected_digest_of_raw_bytes"].as_str() {
                    let d: Digest = d.parse().unwrap();
                    d.verify(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
                }
                let result = verdict(schema, &name, &bytes);
                if result.is_ok() != expect_valid {
                    disagree.push(format!("{schema}/{name}: {result:?}"));
                }
            }
        }
    }
    println!(
        "image-spec vectors: {} of {total} agree with upstream",
        total - disagree.len()
    );
    assert_eq!(total, 81, "expected 81 image-spec vectors");
    assert!(
        disagree.is_empty(),
        "disagreements:\n{}",
        disagree.join("\n")
    );
}

/// A valid manifest from the vectors, for single-defect variants.
fn base_manifest() -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 1470,
            "digest": "sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b"
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "size": 148,
            "digest": "sha256:c57089565e894899735d458f0fd4bb17a0f1e0df8d72da392b85c9b35ee777cd"
        }]
    })
}

fn manifest_verdict(doc: &serde_json::Value) -> Result<ImageManifest, Error> {
    ImageManifest::from_slice_validated(&serde_json::to_vec(doc).unwrap())
}

/// The upstream invalid cases that fail for a second reason (malformed JSON,
/// `"os": 123`) get clean single-defect twins here.
fn single_defect_variants() {
    manifest_verdict(&base_manifest()).expect("base manifest is valid");

    // manifest-01 without its duplicated line: only config.size is a string.
    let mut m = base_manifest();
    m["config"]["size"] = "1470".into();
    let err = manifest_verdict(&m).unwrap_err();
    assert!(matches!(err, Error::MalformedJson { .. }), "{err}");

    // Empty layers: schema minItems 1.
    let mut m = base_manifest();
    m["layers"] = serde_json::json!([]);
    let err = manifest_verdict(&m).unwrap_err();
    assert_eq!(err.violations()[0].path, "$.layers");

    // Wrong schemaVersion and wrong mediaType, both reported at once.
    let mut m = base_manifest();
    m["schemaVersion"] = 1.into();
    m["mediaType"] = "application/vnd.oci.image.index.v1+json".into();
    let err = manifest_verdict(&m).unwrap_err();
    let paths: Vec<_> = err.violations().iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["$.schemaVersion", "$.mediaType"]);

    // A layer with a bad URL and data that does not match its digest.
    let mut m = base_manifest();
    m["layers"][0]["urls"] = serde_json::json!(["https://ok.example/x", "not a url"]);
    m["layers"][0]["data"] = "e30=".into();
    let err = manifest_verdict(&m).unwrap_err();
    let paths: Vec<_> = err.violations().iter().map(|v| v.path.as_str()).collect();
    assert_eq!(paths, ["$.layers[0].urls[1]", "$.layers[0].data"]);

    // An empty config without artifactType.
    let mut m = base_manifest();
    m["config"] = serde_json::to_value(Descriptor::empty()).unwrap();
    let err = manifest_verdict(&m).unwrap_err();
    assert_eq!(err.violations()[0].path, "$.artifactType");

    // image-layout-00 without its JSON error: a version that is not 1.x.y.
    let err = OciLayout::from_slice_validated(br#"{"imageLayoutVersion":"2"}"#).unwrap_err();
    assert_eq!(err.violations()[0].path, "$.imageLayoutVersion");

    // config-03/04/05 without `"os": 123`: each defect alone.
    let base = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"diff_ids": [], "type": "layers"}
    });
    ImageConfiguration::from_slice_validated(&serde_json::to_vec(&base).unwrap()).unwrap();
    for (field, value) in [
        ("history", serde_json::json!("should be an array")),
        ("config", serde_json::json!({"Env": [7]})),
        ("config", serde_json::json!({"Volumes": "/tmp"})),
    ] {
        let mut c = base.clone();
        c[field] = value;
        let err = ImageConfiguration::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap_err();
        assert!(matches!(err, Error::MalformedJson { .. }), "{field}: {err}");
    }
}

fn documents_keep_unknown_fields_and_bytes() {
    let Some(root) = vectors::root("image-spec") else {
        return;
    };
    let case = root.join("image-spec/image-manifest/valid/backwards_compatibility-00.json");
    let bytes = std::fs::read(case).unwrap();
    let raw: Raw<DockerManifest> = Raw::parse(bytes.clone()).unwrap();
    assert_eq!(
        raw.digest().as_str(),
        "sha256:888206c77cd2811ec47e752ba291e5b7734e3ef137dfd222daadaca39a9f17bc"
    );
    assert_eq!(raw.bytes(), &bytes[..]);

    let mut m = base_manifest();
    m["x-vendor"] = serde_json::json!({"keep": [1, 2]});
    m["config"]["x-inner"] = true.into();
    let parsed = manifest_verdict(&m).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&parsed.to_canonical_vec()).unwrap();
    assert_eq!(back, m);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    image_spec_vectors_agree_with_upstream,
    single_defect_variants,
    documents_keep_unknown_fields_and_bytes
];
