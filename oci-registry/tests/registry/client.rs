//! ocikit's own registry client pushing and pulling through the embedded
//! server, in memory and on a filesystem.

use ocikit_distribution::{ClientBuilder, Platforms};
use ocikit_image::Layout;
use ocikit_registry::{Registry, RunningRegistry};
use ocikit_types::{ImageManifest, MediaType, Raw};

use crate::support::{build_image, client, reference};

fn public_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let b = Registry::builder();
    send(&b.spawn("127.0.0.1:0"));
    let r = b.build().unwrap();
    send(&r.spawn("127.0.0.1:0"));
    send(&r.serve("127.0.0.1:0", std::future::pending()));
}

/// Pushes an image, pulls it back and checks every blob and digest, the
/// tag list, the catalog and the delete.
pub(crate) async fn round_trip(reg: &RunningRegistry) {
    let c = client(reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 3, 300_000);
    let r = reference(reg, "test/app:1.0");
    c.ping(&r).await.unwrap();
    assert_eq!(c.push_image(&src, &image, &r).await.unwrap(), image.digest);
    let head = c.head_manifest(&r).await.unwrap().unwrap();
    assert_eq!((head.digest, head.size), (image.digest.clone(), image.size));

    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    let m: Raw<ImageManifest> = dst.read_document(&got).unwrap();
    for d in std::iter::once(&m.value().config).chain(&m.value().layers) {
        assert_eq!(dst.read_blob(d).unwrap(), src.read_blob(d).unwrap());
    }
    assert_eq!(c.tags(&r, None).await.unwrap(), ["1.0"]);
    assert_eq!(c.catalog(&r, Some(1)).await.unwrap(), ["test/app"]);

    c.delete_manifest(&r, &image.digest).await.unwrap();
    assert!(c.head_manifest(&r).await.unwrap().is_none());
    assert!(c.pull_manifest(&r).await.unwrap_err().is_not_found());
}

async fn ocikit_client_round_trip_in_memory() {
    let reg = Registry::builder()
        .in_memory()
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    round_trip(&reg).await;
    reg.shutdown().await;
}

async fn ocikit_client_round_trip_on_a_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    round_trip(&reg).await;
}

async fn each_repository_is_an_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let c = client(&reg);
    let src = Layout::create(dir.path().join("src")).unwrap();
    let amd = build_image(&src, "amd64", 2, 10_000);
    let arm = build_image(&src, "arm64", 1, 10_000);
    let index = ocikit_image::write_index(&src, vec![amd.clone(), arm.clone()]).unwrap();
    c.push_image(&src, &index, &reference(&reg, "lib/multi:v1"))
        .await
        .unwrap();
    // A second repository shares the blobs (mounted, not uploaded again).
    c.push_image(&src, &amd, &reference(&reg, "other:amd"))
        .await
        .unwrap();

    let layout = Layout::open(dir.path().join("store/repositories/lib/multi/_layout")).unwrap();
    assert_eq!(layout.resolve("v1").unwrap().digest, index.digest);
    let report = layout.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(layout.has_blob(&amd.digest) && layout.has_blob(&arm.digest));
    let other = Layout::open(dir.path().join("store/repositories/other/_layout")).unwrap();
    assert!(other.verify().unwrap().is_ok());
    assert!(!other.has_blob(&arm.digest), "only what was pushed there");
}

async fn chunked_uploads_and_one_platform_pulls() {
    let reg = Registry::builder().spawn("127.0.0.1:0").await.unwrap();
    let c = ClientBuilder::new()
        .insecure_http_host(&reg.host())
        .chunked_upload(64 * 1024)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let amd = build_image(&src, "amd64", 2, 200_000);
    let arm = build_image(&src, "arm64", 1, 1000);
    let index = ocikit_image::write_index(&src, vec![amd.clone(), arm.clone()]).unwrap();
    let r = reference(&reg, "chunked:latest");
    c.push_image(&src, &index, &r).await.unwrap();
    let one = Layout::create(dir.path().join("one")).unwrap();
    let d = c
        .pull_image(&r, &one, &Platforms::Only("linux/amd64".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(d.digest, amd.digest);
    assert!(one.verify().unwrap().is_ok());
}

async fn artifacts_with_a_subject_are_listed_as_referrers() {
    let reg = Registry::builder().spawn("127.0.0.1:0").await.unwrap();
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 100);
    let r = reference(&reg, "app:1");
    c.push_image(&src, &image, &r).await.unwrap();
    let file = dir.path().join("sbom.json");
    std::fs::write(&file, "{}").unwrap();
    let sbom: MediaType = "application/vnd.example.sbom+json".parse().unwrap();
    let files = [ocikit_distribution::ArtifactFile::new(
        &file,
        MediaType::ImageLayer,
    )];
    let pushed = c
        .push_artifact(
            &r.with_tag("sbom").unwrap(),
            &sbom,
            &files,
            Some(image.clone()),
            Default::default(),
        )
        .await
        .unwrap();
    let list = c.referrers(&r, &image.digest, None).await.unwrap();
    assert_eq!(list.manifests.len(), 1);
    assert_eq!(list.manifests[0].digest, pushed.digest);
    assert_eq!(list.manifests[0].artifact_type.as_ref(), Some(&sbom));
    let none = c
        .referrers(&r, &image.digest, Some("application/other"))
        .await
        .unwrap();
    assert!(none.manifests.is_empty());
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![public_futures_are_send; async
    ocikit_client_round_trip_in_memory,
    ocikit_client_round_trip_on_a_filesystem,
    each_repository_is_an_oci_layout,
    chunked_uploads_and_one_platform_pulls,
    artifacts_with_a_subject_are_listed_as_referrers,
];
