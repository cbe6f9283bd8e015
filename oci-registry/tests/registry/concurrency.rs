//! Clients racing each other on the filesystem storage: nothing stored is
//! corrupted and nothing is left behind.

use ocikit_registry::Registry;
use ocikit_types::Digest;

use crate::support::{http, noise};

fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

async fn two_clients_pushing_the_same_blob_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let h = http();
    let data = noise(3 << 20, 5);
    let digest = Digest::sha256(&data);
    let push = |repo: &'static str| {
        h.post(format!(
            "{}/v2/{repo}/blobs/uploads/?digest={digest}",
            reg.url()
        ))
        .body(data.clone())
        .send()
    };
    let (a, b) = tokio::join!(push("one"), push("two"));
    assert_eq!(a.unwrap().status(), 201);
    assert_eq!(b.unwrap().status(), 201);
    for repo in ["one", "two"] {
        let got = h
            .get(format!("{}/v2/{repo}/blobs/{digest}", reg.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(Digest::sha256(&got.bytes().await.unwrap()), digest);
    }
    assert_eq!(entries(&dir.path().join("_uploads")), 0);
    assert_eq!(entries(&dir.path().join("_tmp")), 0);
    assert_eq!(entries(&dir.path().join("blobs/sha256")), 1, "stored once");
}

async fn a_blob_deleted_during_a_pull_is_still_sent_whole() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let h = http();
    let data = noise(8 << 20, 6);
    let digest = Digest::sha256(&data);
    let url = format!("{}/v2/r/blobs/{digest}", reg.url());
    let resp = h
        .post(format!("{}/v2/r/blobs/uploads/?digest={digest}", reg.url()))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let pull = h.get(&url).send().await.unwrap();
    assert_eq!(pull.status(), 200);
    // The reply has started; the blob goes from the repository meanwhile.
    assert_eq!(h.delete(&url).send().await.unwrap().status(), 202);
    let body = pull.bytes().await.unwrap();
    assert_eq!(Digest::sha256(&body), digest);
    assert_eq!(h.get(&url).send().await.unwrap().status(), 404);
}

async fn a_client_gone_mid_upload_leaves_a_session_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let h = http();
    let resp = h
        .post(format!("{}/v2/r/blobs/uploads/", reg.url()))
        .send()
        .await
        .unwrap();
    let url = format!(
        "{}{}",
        reg.url(),
        resp.headers()["location"].to_str().unwrap()
    );
    // A body that fails after 1 MiB: the connection is cut.
    let first = noise(1 << 20, 8);
    let chunks = futures_util::stream::iter([
        Ok(first.clone()),
        Err(std::io::Error::other("the client died")),
    ]);
    let _ = h
        .patch(&url)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    let status = h.get(&url).send().await.unwrap();
    assert_eq!(status.status(), 204);
    let range = status.headers()["range"].to_str().unwrap().to_owned();
    let stored: u64 = range.split('-').nth(1).unwrap().parse::<u64>().unwrap() + 1;
    assert!(stored <= first.len() as u64, "{range}");
    // The client resumes from what was stored and completes the blob.
    let rest = &first[stored as usize..];
    let digest = Digest::sha256(&first);
    let mut put = h.put(format!("{url}?digest={digest}"));
    if !rest.is_empty() {
        put = put.header("content-range", format!("{stored}-{}", first.len() - 1));
    }
    let resp = put.body(rest.to_vec()).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(entries(&dir.path().join("_uploads")), 0);
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    two_clients_pushing_the_same_blob_both_succeed,
    a_blob_deleted_during_a_pull_is_still_sent_whole,
    a_client_gone_mid_upload_leaves_a_session_that_resumes,
];
