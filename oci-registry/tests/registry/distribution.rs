//! skopeo copying between the embedded server and docker-registry (CNCF
//! Distribution), both ways, an image and a multi-platform index, with
//! `--preserve-digests`: what one registry serves the other stores
//! byte for byte.

use std::process::Command;

use ocikit_distribution::Platforms;
use ocikit_image::Layout;
use ocikit_registry::Registry;

use crate::peer::{busybox, ok, server_digest, skopeo_digest};
use crate::support::{build_image, client, reference};

/// `skopeo copy --all --preserve-digests FROM TO` over plain HTTP.
async fn copy(from: &str, to: &str) {
    let mut c = Command::new("skopeo");
    c.args([
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        from,
        to,
    ]);
    ok(c).await;
}

async fn skopeo_copies_between_the_server_and_docker_registry() {
    if !testkit::need::tools(&["skopeo", testkit::busybox::BINARY]) {
        return;
    }
    let Some(theirs) = testkit::registry::Registry::start() else {
        return;
    };
    let dir = testkit::temp::dir("distribution");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let ours = reg.host();

    // A multi-platform index pushed by ocikit's client: ours -> theirs -> ours.
    let src = Layout::create(dir.path().join("multi")).unwrap();
    let amd = build_image(&src, "amd64", 2, 100_000);
    let arm = build_image(&src, "arm64", 1, 50_000);
    let index = ocikit_image::write_index(&src, vec![amd.clone(), arm]).unwrap();
    client(&reg)
        .push_image(&src, &index, &reference(&reg, "multi/app:v1"))
        .await
        .unwrap();
    copy(
        &format!("docker://{ours}/multi/app:v1"),
        &format!("docker://{}/multi/app:v1", theirs.addr),
    )
    .await;
    assert_eq!(
        skopeo_digest(&theirs.addr, "multi/app:v1").await,
        index.digest
    );
    copy(
        &format!("docker://{}/multi/app:v1", theirs.addr),
        &format!("docker://{ours}/multi/back:v1"),
    )
    .await;
    assert_eq!(server_digest(&reg, "multi/back:v1").await, index.digest);
    assert_eq!(skopeo_digest(&ours, "multi/back:v1").await, index.digest);
    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = client(&reg)
        .pull_image(&reference(&reg, "multi/back:v1"), &back, &Platforms::All)
        .await
        .unwrap();
    assert_eq!(got.digest, index.digest);
    assert!(back.verify().unwrap().is_ok());
    assert!(back.has_blob(&amd.digest));

    // The busybox image starting at docker-registry: theirs -> ours -> theirs.
    let (layout, image) = busybox(dir.path());
    copy(
        &format!("oci:{}:v1", layout.path().display()),
        &format!("docker://{}/lib/busybox:v1", theirs.addr),
    )
    .await;
    copy(
        &format!("docker://{}/lib/busybox:v1", theirs.addr),
        &format!("docker://{ours}/lib/busybox:v1"),
    )
    .await;
    assert_eq!(server_digest(&reg, "lib/busybox:v1").await, image.digest);
    copy(
        &format!("docker://{ours}/lib/busybox:v1"),
        &format!("docker://{}/lib/busybox:again", theirs.addr),
    )
    .await;
    assert_eq!(
        skopeo_digest(&theirs.addr, "lib/busybox:again").await,
        image.digest
    );
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async skopeo_copies_between_the_server_and_docker_registry];
