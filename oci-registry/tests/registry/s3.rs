//! The S3 storage against a real object store (SeaweedFS on loopback):
//! ocikit's client, skopeo and the conformance suite through it, a large
//! blob with the server's memory bounded, and redirects to presigned URLs.

use ocikit_registry::{Registry, RunningRegistry, S3Options};
use testkit::seaweed::{Seaweed, ACCESS_KEY, BUCKET, SECRET_KEY};

/// Options for `weed`'s bucket, under `root`.
pub(crate) fn options(weed: &Seaweed, root: &str) -> S3Options {
    S3Options::new(BUCKET, "us-east-1")
        .endpoint(&weed.endpoint)
        .credentials(ACCESS_KEY, SECRET_KEY)
        .root(root)
}

/// An embedded registry storing in `weed`'s bucket under `root`.
pub(crate) async fn spawn(weed: &Seaweed, root: &str, redirect: bool) -> RunningRegistry {
    Registry::builder()
        .s3(options(weed, root).redirect(redirect))
        .spawn("127.0.0.1:0")
        .await
        .unwrap()
}

/// The `storage:` section of a `config.yml` for `weed`'s bucket.
pub(crate) fn storage_yaml(weed: &Seaweed, root: &str, redirect: bool) -> String {
    format!(
        "storage:\n  s3:\n    bucket: {BUCKET}\n    region: us-east-1\n    regionendpoint: {}\n    accesskey: {ACCESS_KEY}\n    secretkey: {SECRET_KEY}\n    rootdirectory: {root}\n    chunksize: 5242880\n  redirect:\n    disable: {}\n  delete:\n    enabled: true\n",
        weed.endpoint, !redirect
    )
}

async fn ocikit_client_round_trip_on_s3() {
    let Some(weed) = Seaweed::start() else { return };
    let reg = spawn(&weed, "rt", false).await;
    crate::client::round_trip(&reg).await;
    reg.shutdown().await;
}

fn the_conformance_suite_passes_on_s3() {
    let Some(suite) = crate::conformance::suite() else {
        return;
    };
    let Some(weed) = Seaweed::start() else { return };
    crate::conformance::run(&suite, &[], |_| {
        storage_yaml(&weed, "conformance", false)
    });
}

/// The same with blob `GET`s redirected to presigned URLs of the store,
/// which the suite's client follows; the store's answer has no
/// `Docker-Content-Digest` (as with Distribution's redirects), so that
/// check is off.
fn the_conformance_suite_passes_on_s3_with_redirects() {
    let Some(suite) = crate::conformance::suite() else {
        return;
    };
    let Some(weed) = Seaweed::start() else { return };
    crate::conformance::run(&suite, &["BLOBS_DIGEST_HEADER"], |_| {
        storage_yaml(&weed, "redirected", true)
    });
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    the_conformance_suite_passes_on_s3,
    the_conformance_suite_passes_on_s3_with_redirects;
    async ocikit_client_round_trip_on_s3
];
