//! The cap on a blob upload's size (`Limits::blob_size_limit`): uploads
//! over it are answered 413 `SIZE_INVALID` whether they announce their
//! length or not, monolithic, chunked or streamed, and nothing of them
//! stays stored; uploads up to it go through.

use ocikit_registry::{Limits, Registry, RunningRegistry};
use ocikit_types::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{error_code, http, noise};

const CAP: u64 = 1000;

async fn spawn(root: &std::path::Path) -> RunningRegistry {
    let mut limits = Limits::default();
    limits.blob_size_limit = Some(CAP);
    Registry::builder()
        .filesystem(root)
        .limits(limits)
        .spawn("127.0.0.1:0")
        .await
        .unwrap()
}

/// Upload folders left in the store.
fn uploads(root: &std::path::Path) -> usize {
    std::fs::read_dir(root.join("_uploads")).map_or(0, |d| d.count())
}

async fn session(base: &str) -> String {
    let resp = http()
        .post(format!("{base}/v2/r/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// The `Range` a session reports, or its status when it has none.
async fn progress(base: &str, location: &str) -> Result<String, u16> {
    let resp = http()
        .get(format!("{base}{location}"))
        .send()
        .await
        .unwrap();
    match resp.headers().get("range") {
        Some(r) if resp.status() == 204 => Ok(r.to_str().unwrap().to_owned()),
        _ => Err(resp.status().as_u16()),
    }
}

async fn uploads_up_to_the_cap_pass_and_larger_ones_get_413() {
    let dir = tempfile::tempdir().unwrap();
    let reg = spawn(dir.path()).await;
    let base = reg.url();
    let exact = noise(CAP as usize, 1);
    let digest = Digest::sha256(&exact);
    let resp = http()
        .post(format!("{base}/v2/r/blobs/uploads/?digest={digest}"))
        .body(exact)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let over = noise(CAP as usize + 1, 2);
    let digest = Digest::sha256(&over);
    let resp = http()
        .post(format!("{base}/v2/r/blobs/uploads/?digest={digest}"))
        .body(over)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(error_code(resp).await, "SIZE_INVALID");
    let head = http()
        .head(format!("{base}/v2/r/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
    assert_eq!(uploads(dir.path()), 0, "a monolithic upload left a session");
}

async fn a_chunk_announcing_too_much_is_refused_and_the_session_kept() {
    let dir = tempfile::tempdir().unwrap();
    let reg = spawn(dir.path()).await;
    let base = reg.url();
    let location = session(&base).await;
    let data = noise(CAP as usize + 200, 3);
    let resp = http()
        .patch(format!("{base}{location}"))
        .header("content-range", "0-599")
        .body(data[..600].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    // By Content-Range and Content-Length, then by Content-Length alone.
    for range in [Some("600-1199"), None] {
        let mut req = http()
            .patch(format!("{base}{location}"))
            .body(data[600..].to_vec());
        if let Some(r) = range {
            req = req.header("content-range", r);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 413, "{range:?}");
        assert_eq!(error_code(resp).await, "SIZE_INVALID");
        assert_eq!(progress(&base, &location).await, Ok("0-599".to_owned()));
    }
    // The session still completes within the cap.
    let rest = &data[600..CAP as usize];
    let digest = Digest::sha256(&data[..CAP as usize]);
    let resp = http()
        .put(format!("{base}{location}?digest={digest}"))
        .body(rest.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(uploads(dir.path()), 0);
}

/// A streamed body (chunked transfer encoding, no length) that passes
/// the cap: refused once it does, and its session cancelled.
async fn a_streamed_body_over_the_cap_cancels_its_session() {
    let dir = tempfile::tempdir().unwrap();
    let reg = spawn(dir.path()).await;
    let base = reg.url();
    let location = session(&base).await;
    let mut conn = TcpStream::connect(reg.addr()).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    for i in 0..3 {
        let chunk = noise(500, 10 + i);
        conn.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        conn.write_all(&chunk).await.unwrap();
        conn.write_all(b"\r\n").await.unwrap();
    }
    conn.write_all(b"0\r\n\r\n").await.unwrap();
    let mut got = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), conn.read(&mut got))
        .await
        .expect("no reply")
        .unwrap();
    let reply = String::from_utf8_lossy(&got[..n]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("SIZE_INVALID"), "{reply}");
    assert_eq!(progress(&base, &location).await, Err(404));
    assert_eq!(
        uploads(dir.path()),
        0,
        "the cancelled session left a folder"
    );
}

/// A `Content-Range` naming 2^64 bytes is refused as out of order (it
/// overflowed the byte count once), with or without a cap, and the session
/// goes on.
async fn a_chunk_range_past_what_a_u64_counts_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let uncapped = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let capped_dir = tempfile::tempdir().unwrap();
    let capped = spawn(capped_dir.path()).await;
    for reg in [&uncapped, &capped] {
        let base = reg.url();
        let location = session(&base).await;
        let resp = http()
            .patch(format!("{base}{location}"))
            .header("content-range", "0-18446744073709551615")
            .body(b"abc".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 416);
        let resp = http()
            .patch(format!("{base}{location}"))
            .header("content-range", "0-2")
            .body(b"abc".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        assert_eq!(progress(&base, &location).await, Ok("0-2".to_owned()));
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async a_chunk_range_past_what_a_u64_counts_is_refused,
    uploads_up_to_the_cap_pass_and_larger_ones_get_413,
    a_chunk_announcing_too_much_is_refused_and_the_session_kept,
    a_streamed_body_over_the_cap_cancels_its_session,
];
