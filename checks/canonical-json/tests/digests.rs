//! The canonical bytes of documents built and parsed through ocikit-types,
//! compared with the bytes a default build of serde_json gives.

use ocikit_types::runtime::Spec;
use ocikit_types::{
    Descriptor, Digest, Document, ImageConfiguration, ImageIndex, ImageManifest, MediaType,
};

/// Which serde_json features this build has, for the failure messages.
fn build() -> &'static str {
    if cfg!(feature = "preserve_order") {
        "preserve_order"
    } else if cfg!(feature = "arbitrary_precision") {
        "arbitrary_precision"
    } else {
        "default features"
    }
}

fn layer(n: u8) -> Descriptor {
    let mut d = Descriptor::new(
        MediaType::ImageLayerGzip,
        Digest::sha256(&[n]),
        1000 + u64::from(n),
    );
    d.annotations.insert("z.last".into(), "1".into());
    d.annotations.insert("a.first".into(), "2".into());
    d
}

#[test]
fn a_manifest_has_the_same_canonical_bytes() {
    let config = Descriptor::new(MediaType::ImageConfig, Digest::sha256(b"{}"), 2);
    let manifest = ImageManifest::new(config, vec![layer(1), layer(2)]);
    let bytes = manifest.to_canonical_vec();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        concat!(
            r#"{"config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","mediaType":"application/vnd.oci.image.config.v1+json","size":2},"#,
            r#""layers":[{"annotations":{"a.first":"2","z.last":"1"},"digest":"sha256:4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":1001},"#,
            r#"{"annotations":{"a.first":"2","z.last":"1"},"digest":"sha256:dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":1002}],"#,
            r#""mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#
        ),
        "with {}",
        build()
    );
}

#[test]
fn parsed_documents_have_the_same_digests() {
    // Keys deliberately out of order, numbers of several shapes.
    let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[{"size":527,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "platform":{"os":"linux","architecture":"arm64","variant":"v8"},
      "digest":"sha256:4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"}],
      "annotations":{"org.opencontainers.image.ref.name":"v1","com.example":"x"}}"#;
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]},"os":"linux",
      "architecture":"amd64","created":"2026-12-02T10:00:00Z",
      "config":{"User":"1000","Env":["A=1"],"ExposedPorts":{"80/tcp":{}}}}"#;
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "index",
            ImageIndex::from_slice(index).unwrap().to_canonical_vec(),
            "sha256:f23bc279b95fce4d8cadd8ffc9f8a96fb8f5e2d8dcad258a59984e0e073ccbcd",
        ),
        (
            "config",
            ImageConfiguration::from_slice(config)
                .unwrap()
                .to_canonical_vec(),
            "sha256:4057c0a8b2aad15297d0156767236c3045b884209bf5f247481763b6c27eb08f",
        ),
        (
            "runtime spec",
            Spec::default_linux().to_canonical_vec(),
            "sha256:576739a53eb4d15fdba830b5181d02ea2215bd7bb2bbbf5120742b1d7590bea6",
        ),
    ];
    for (what, bytes, want) in cases {
        assert_eq!(
            Digest::sha256(&bytes).to_string(),
            want,
            "{what} with {}: {}",
            build(),
            String::from_utf8_lossy(&bytes)
        );
    }
}
