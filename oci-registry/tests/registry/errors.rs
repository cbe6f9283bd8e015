//! Bad input gets the spec's error, and nothing wrong is stored.

use ocikit_registry::{Deletes, Registry};
use ocikit_types::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{error_code, http, noise};

async fn a_wrong_digest_is_refused_and_nothing_is_stored() {
    let reg = Registry::builder().spawn("127.0.0.1:0").await.unwrap();
    let h = http();
    let claimed = Digest::sha256(b"something else");
    let resp = h
        .post(format!(
            "{}/v2/r/blobs/uploads/?digest={claimed}",
            reg.url()
        ))
        .body("the bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "DIGEST_INVALID");
    let head = h
        .head(format!("{}/v2/r/blobs/{claimed}", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
    // A malformed digest is DIGEST_INVALID too, never a 500.
    let resp = h
        .get(format!("{}/v2/r/blobs/sha256:xyz", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "DIGEST_INVALID");
}

async fn an_out_of_order_chunk_is_416_and_the_session_goes_on() {
    let reg = Registry::builder().spawn("127.0.0.1:0").await.unwrap();
    let h = http();
    let data = noise(3000, 7);
    let digest = Digest::compute(ocikit_types::Algorithm::Sha512, &data);
    let resp = h
        .post(format!("{}/v2/r/blobs/uploads/", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let url = format!("{}{loc}", reg.url());
    let patch = |range: &str, bytes: &[u8]| {
        h.patch(&url)
            .header("content-type", "application/octet-stream")
            .header("content-range", range)
            .body(bytes.to_vec())
            .send()
    };
    let resp = patch("0-999", &data[..1000]).await.unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()["range"], "0-999");
    let resp = patch("2000-2999", &data[2000..]).await.unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(resp.headers()["range"], "0-999");
    let status = h.get(&url).send().await.unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"], "0-999");
    // A body longer than its range (no Content-Length to check first).
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![0u8; 20])]);
    let resp = h
        .patch(&url)
        .header("content-range", "1000-1009")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 416);
    let status = h.get(&url).send().await.unwrap();
    assert_eq!(
        status.headers()["range"],
        "0-999",
        "nothing of it was stored"
    );
    let resp = patch("1000-1999", &data[1000..2000]).await.unwrap();
    assert_eq!(resp.status(), 202);
    let resp = h
        .put(format!("{url}?digest={digest}"))
        .header("content-range", "2000-2999")
        .body(data[2000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "a sha512 digest is computed too");
    let got = h
        .get(format!("{}/v2/r/blobs/{digest}", reg.url()))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 206);
    assert_eq!(got.bytes().await.unwrap(), data[10..20]);
    let bad = h
        .get(format!("{}/v2/r/blobs/{digest}", reg.url()))
        .header("range", "bytes=5000-")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 416);
}

/// Sends a raw request line (no URL normalisation) and returns the status.
async fn raw_status(addr: std::net::SocketAddr, method: &str, path: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split(' ').nth(1).unwrap().parse().unwrap()
}

async fn traversal_and_invalid_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let reg = Registry::builder()
        .filesystem(&store)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    for path in [
        "/v2/../../etc/blobs/uploads/",
        "/v2/a/../../b/blobs/uploads/",
        "/v2/a/%2e%2e/b/blobs/uploads/",
        "/v2/UPPER/blobs/uploads/",
        "/v2/_hidden/blobs/uploads/",
    ] {
        assert_eq!(raw_status(reg.addr(), "POST", path).await, 400, "{path}");
    }
    assert_eq!(
        raw_status(reg.addr(), "GET", "/v2/a/blobs/uploads/..%2f..%2fx").await,
        404
    );
    let h = http();
    let resp = h
        .get(format!(
            "{}/v2/{}/tags/list",
            reg.url(),
            "a/".repeat(200) + "a"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, "NAME_INVALID");
    // Nothing was created anywhere.
    assert_eq!(
        std::fs::read_dir(store.join("repositories"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(store.join("_uploads")).unwrap().count(),
        0
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

async fn oversized_and_dangling_manifests_are_refused() {
    let reg = Registry::builder()
        .manifest_limit(1000)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let h = http();
    let put = |body: String| {
        h.put(format!("{}/v2/r/manifests/v1", reg.url()))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(body)
            .send()
    };
    let missing = Digest::sha256(b"not pushed");
    let manifest = |pad: usize| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{missing}","size":10}},"layers":[],"annotations":{{"pad":"{}"}}}}"#,
            "x".repeat(pad)
        )
    };
    let resp = put(manifest(2000)).await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(error_code(resp).await, "SIZE_INVALID");
    let resp = put(manifest(0)).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "MANIFEST_BLOB_UNKNOWN");
    let resp = put("{not json".into()).await.unwrap();
    assert_eq!(error_code(resp).await, "MANIFEST_INVALID");
    let tags = h
        .get(format!("{}/v2/r/tags/list", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.status(), 404, "nothing was stored");
}

async fn deletes_can_be_disabled() {
    let reg = Registry::builder()
        .deletes(Deletes::Disabled)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let h = http();
    let d = Digest::sha256(b"x");
    for what in ["blobs", "manifests"] {
        let resp = h
            .delete(format!("{}/v2/r/{what}/{d}", reg.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        assert_eq!(error_code(resp).await, "UNSUPPORTED");
    }
}

async fn an_upload_session_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = noise(5000, 3);
    let digest = Digest::sha256(&data);
    let h = http();
    let reg = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let resp = h
        .post(format!("{}/v2/r/blobs/uploads/", reg.url()))
        .send()
        .await
        .unwrap();
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    let resp = h
        .patch(format!("{}{loc}", reg.url()))
        .body(data[..2000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    reg.shutdown().await;

    let reg = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("{}{loc}", reg.url());
    assert_eq!(
        h.get(&url).send().await.unwrap().headers()["range"],
        "0-1999"
    );
    let resp = h
        .put(format!("{url}?digest={digest}"))
        .header("content-range", "2000-4999")
        .body(data[2000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let got = h
        .get(format!("{}/v2/r/blobs/{digest}", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(got.bytes().await.unwrap(), data);
}

async fn two_clients_sending_the_same_chunk_cannot_both_append_it() {
    let reg = Registry::builder().spawn("127.0.0.1:0").await.unwrap();
    let h = http();
    let data = noise(1 << 20, 9);
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
    let send = || {
        h.patch(&url)
            .header("content-range", format!("0-{}", data.len() - 1))
            .body(data.clone())
            .send()
    };
    let (a, b) = tokio::join!(send(), send());
    let mut codes = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    codes.sort();
    assert_eq!(codes, [202, 416]);
    let digest = Digest::sha256(&data);
    let resp = h
        .put(format!("{url}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    a_wrong_digest_is_refused_and_nothing_is_stored,
    an_out_of_order_chunk_is_416_and_the_session_goes_on,
    traversal_and_invalid_names_are_refused,
    oversized_and_dangling_manifests_are_refused,
    deletes_can_be_disabled,
    an_upload_session_survives_a_restart,
    two_clients_sending_the_same_chunk_cannot_both_append_it,
];
