//! Issue 14: a sha512 image (index, manifest, config and layers all under
//! sha512 digests) goes layout -> registry -> layout with identical
//! digests, as far as the registry accepts sha512.
//!
//! The round trip takes a registry address and what that registry does
//! with sha512 content, so that every registry the suite runs against
//! (docker-registry and ocikit's own server) is a target of the same
//! test.

use ocikit_distribution::{Client, ClientBuilder, Error, Platforms};
use ocikit_image::{export_layout, import_layout, ImageBuilder, Layout};
use ocikit_types::{
    Algorithm, Descriptor, Document, ErrorCode, ImageIndex, ImageManifest, MediaType, Platform,
    Raw, Reference,
};

use testkit::registry::Registry;

/// What a registry does with sha512 content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sha512 {
    /// Blobs and manifests are stored and served under their sha512
    /// digests (ocikit's own registry).
    Full,
    /// Blobs are (Distribution 2.8 links them under sha512 beside its
    /// sha256 name), manifests are not: a manifest PUT by a sha512 digest
    /// is refused with `DIGEST_INVALID`.
    BlobsOnly,
}

/// An index of one manifest, its config and two layers, every one stored
/// under a sha512 digest in a new layout at `path`; tagged `v1`.
fn sha512_image(path: &std::path::Path) -> (Layout, Descriptor) {
    let layout = Layout::create(path).unwrap();
    let mut b = ImageBuilder::new(&layout, Platform::new("linux", "amd64"));
    b.digest_algorithm(Algorithm::Sha512);
    for i in 0..2u8 {
        let data: Vec<u8> = (0..200_000u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> (8 + i)) as u8)
            .collect();
        let mut w = layout.blob_writer(Algorithm::Sha512).unwrap();
        w.feed(&data).unwrap();
        let (digest, size) = w.commit().unwrap();
        assert_eq!(digest.algorithm(), "sha512");
        let blob = Descriptor::new(MediaType::ImageLayer, digest.clone(), size);
        b.add_layer(blob, digest, Some(&format!("layer {i}")));
    }
    b.config_mut().cmd = Some(vec!["/bin/sh".into()]);
    let manifest = b.write().unwrap();
    let index = Raw::<ImageIndex>::parse_with(
        ImageIndex::new(vec![manifest]).to_canonical_vec(),
        Algorithm::Sha512,
    )
    .unwrap();
    let index = layout
        .write_document(&index, MediaType::ImageIndex)
        .unwrap();
    layout.tag("v1", index.clone()).unwrap();
    (layout, index)
}

/// Every descriptor of the image `top` in `layout`: the index, its
/// manifests, their configs and layers.
fn tree(layout: &Layout, top: &Descriptor) -> Vec<Descriptor> {
    let mut all = vec![top.clone()];
    let index: Raw<ImageIndex> = layout.read_document(top).unwrap();
    for m in &index.value().manifests {
        all.push(m.clone());
        let manifest: Raw<ImageManifest> = layout.read_document(m).unwrap();
        all.push(manifest.value().config.clone());
        all.extend(manifest.value().layers.iter().cloned());
    }
    all
}

/// `copy` holds every blob of `src`'s image under the same sha512 digest,
/// byte for byte, and verifies.
fn same_image(src: &Layout, copy: &Layout, top: &Descriptor) {
    let descs = tree(src, top);
    assert_eq!(descs.len(), 5, "index, manifest, config, two layers");
    for d in &descs {
        assert_eq!(d.digest.algorithm(), "sha512", "{}", d.digest);
        assert!(
            copy.blob_path(&d.digest)
                .starts_with(copy.path().join("blobs/sha512")),
            "{}",
            d.digest
        );
        assert_eq!(copy.read_blob(d).unwrap(), src.read_blob(d).unwrap());
    }
    let report = copy.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

fn client(addr: &str) -> Client {
    ClientBuilder::new()
        .insecure_http_host(addr)
        .build()
        .unwrap()
}

/// The round trip against the registry at `addr` (`HOST:PORT`, plain
/// HTTP), which handles sha512 as `support` says.
pub(crate) async fn sha512_round_trip(addr: &str, support: Sha512) {
    let dir = tempfile::tempdir().unwrap();
    let (src, top) = sha512_image(&dir.path().join("src"));
    let c = client(addr);
    let r: Reference = format!("{addr}/sha512/app:v1").parse().unwrap();
    let pushed = c.push_image(&src, &top, &r).await;
    let by_digest: Reference = format!("{addr}/sha512/app@{}", top.digest).parse().unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    match support {
        Sha512::Full => {
            let pushed = pushed.unwrap_or_else(|e| panic!("push refused: {e}"));
            assert_eq!(pushed, top.digest);
            let got = c
                .pull_image(&by_digest, &dst, &Platforms::All)
                .await
                .unwrap();
            assert_eq!(got.digest, top.digest);
            same_image(&src, &dst, &top);
        }
        Sha512::BlobsOnly => {
            // The first manifest pushed is the index's child, by its
            // digest: refused, and the error names it.
            let manifest = &tree(&src, &top)[1];
            let e = match pushed {
                Ok(d) => panic!("a registry of sha512 blobs only took the image as {d}"),
                Err(e) => e,
            };
            assert_eq!(e.status(), Some(400), "{e}");
            assert!(e.to_string().contains(manifest.digest.as_str()), "{e}");
            let Error::Status { errors, .. } = &e else {
                panic!("not the registry's refusal: {e:?}")
            };
            assert!(
                errors.iter().any(|x| x.code == ErrorCode::DigestInvalid),
                "{errors:?}"
            );
            // What it does hold comes back under sha512: the config and
            // layers, each by its own digest, into a fresh layout.
            let blobs = tree(&src, &top);
            for d in &blobs[2..] {
                assert!(c.blob_exists(&r, &d.digest).await.unwrap(), "{}", d.digest);
                let bytes = pull_blob(&c, &r, d).await;
                let (digest, _) = dst
                    .write_blob_from(&bytes[..], Algorithm::Sha512, Some((&d.digest, d.size)))
                    .unwrap();
                assert_eq!(digest, d.digest);
                assert!(dst
                    .blob_path(&digest)
                    .starts_with(dst.path().join("blobs/sha512")));
            }
            // And nothing is pullable under a digest the registry refused.
            let err = c.pull_manifest(&by_digest).await.unwrap_err();
            assert!(err.is_not_found(), "{err}");
        }
    }
}

async fn pull_blob(c: &Client, r: &Reference, d: &Descriptor) -> Vec<u8> {
    use futures_util::StreamExt as _;
    let mut stream = std::pin::pin!(c.blob_stream(r, d).await.unwrap());
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    bytes
}

/// docker-registry (Distribution 2.8) takes sha512 blobs and refuses
/// sha512 manifests.
async fn issue_14_sha512_round_trip_docker_registry() {
    let Some(reg) = Registry::start() else { return };
    sha512_round_trip(&reg.addr, Sha512::BlobsOnly).await;
}

/// ocikit's own registry stores sha512 blobs and manifests: the image
/// comes back with every digest the same.
async fn issue_14_sha512_round_trip_ocikit_registry() {
    let reg = ocikit_registry::Registry::builder()
        .in_memory()
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    sha512_round_trip(&reg.host(), Sha512::Full).await;
    reg.shutdown().await;
}

/// Layout -> layout (a layout tar written and read back) keeps every
/// sha512 digest, whatever a registry does.
fn issue_14_sha512_layout_to_layout_keeps_digests() {
    let dir = tempfile::tempdir().unwrap();
    let (src, top) = sha512_image(&dir.path().join("src"));
    let mut tar = Vec::new();
    export_layout(&src, &mut tar).unwrap();
    let copy = import_layout(&tar[..], dir.path().join("copy")).unwrap();
    let again = copy.resolve("v1").unwrap();
    assert_eq!(again.digest, top.digest);
    same_image(&src, &copy, &top);
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    issue_14_sha512_layout_to_layout_keeps_digests;
    async issue_14_sha512_round_trip_docker_registry,
    issue_14_sha512_round_trip_ocikit_registry
];
