//! Bad clients against the `ocikit-registry` binary: each gets the
//! spec's answer, and after each case the server holds as many file
//! descriptors as before and no upload folder or temp file is left.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use ocikit_types::Digest;

use crate::crash::Server;
use crate::push::Pusher;
use crate::support::{error_code, noise};

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// What each descriptor of `pid` points at, for a failure message.
fn fd_targets(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .collect()
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// Waits until the server is back to `baseline` descriptors (closing a
/// cut connection and ending its blocking tasks takes a moment), and
/// checks the store holds no upload folder and no temp file. It sleeps
/// on the test's runtime, never blocking it: the client's connections
/// close in tasks of that runtime, and the server holds their other end
/// until they do.
async fn assert_nothing_leaked(case: &str, pid: u32, baseline: usize, root: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while fds(pid) > baseline {
        assert!(
            Instant::now() < deadline,
            "{case}: {} descriptors open, {baseline} before: {:?}",
            fds(pid),
            fd_targets(pid)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&root.join("_uploads")), 0, "{case}: upload folders");
    assert_eq!(count(&root.join("_tmp")), 0, "{case}: temp files");
}

/// A raw request on its own connection: the head, then `body`.
fn raw(url: &str, head: &str, body: &[u8]) -> TcpStream {
    let addr = url.strip_prefix("http://").unwrap();
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c.write_all(format!("{head}\r\nhost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    c.write_all(body).unwrap();
    c
}

async fn bad_clients_leak_no_descriptor_and_no_upload() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let server = Server::start(dir.path(), "");
    let pid = server.pid();
    let p = Pusher::new(server.url.clone());
    // Warm up: every lazily opened descriptor of the server is open.
    let warm = p.image("warm", Some("v1"), 1, &[1000], &[]).await;
    p.pull("warm", &warm.layers[0].digest).await;
    let baseline = fds(pid);

    // A client killed mid-upload: the session keeps what arrived (the
    // spec lets the client resume); it cancels afterwards.
    let resp =
        p.h.post(format!("{}/v2/r/blobs/uploads/", p.base))
            .send()
            .await
            .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let c = raw(
        &server.url,
        &format!("PATCH {location} HTTP/1.1\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000000"),
        &noise(100_000, 1),
    );
    drop(c);
    let url = format!("{}{location}", p.base);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = p.h.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 204);
        if resp.headers()["range"] == "0-99999" {
            break;
        }
        assert!(Instant::now() < deadline, "the cut body was not stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(p.h.delete(&url).send().await.unwrap().status(), 204);
    assert_nothing_leaked("killed mid-upload", pid, baseline, &root).await;

    // Two clients pushing the same blob at once: both 201, stored once.
    let data = noise(2 << 20, 2);
    let digest = Digest::sha256(&data);
    let blobs = count(&root.join("blobs/sha256"));
    let (a, b) = { tokio::join!(p.blob("one", &data), p.blob("two", &data)) };
    assert_eq!(a, b);
    assert_eq!(count(&root.join("blobs/sha256")), blobs + 1);
    assert_nothing_leaked("same blob twice", pid, baseline, &root).await;

    // A delete during a pull: the pull has its answer started, the
    // client goes away half way; then the blob is unknown.
    let big = noise(8 << 20, 3);
    let big_digest = p.blob("r", &big).await.digest;
    let mut c = raw(
        &server.url,
        &format!("GET /v2/r/blobs/{big_digest} HTTP/1.1"),
        b"",
    );
    let mut first = vec![0; 64 << 10];
    c.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"));
    let resp =
        p.h.delete(format!("{}/v2/r/blobs/{big_digest}", p.base))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 202);
    drop(c);
    let resp =
        p.h.get(format!("{}/v2/r/blobs/{big_digest}", p.base))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "BLOB_UNKNOWN");
    assert_nothing_leaked("delete during pull", pid, baseline, &root).await;

    // A manifest naming a blob the repository lacks.
    let config = p.blob("m", b"{}").await;
    let missing = crate::push::Item {
        digest: Digest::sha256(b"never pushed"),
        size: 12,
    };
    let doc = Pusher::manifest_doc(&config, &[missing], None);
    let bytes = serde_json::to_vec(&doc).unwrap();
    let resp =
        p.h.put(format!("{}/v2/m/manifests/v1", p.base))
            .header("content-type", crate::push::MANIFEST)
            .body(bytes)
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "MANIFEST_BLOB_UNKNOWN");
    assert_nothing_leaked("manifest with a missing blob", pid, baseline, &root).await;
    // Nothing stored was damaged by any of it.
    assert_eq!(p.pull("one", &digest).await.unwrap(), data);
    drop(server);
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async bad_clients_leak_no_descriptor_and_no_upload];
