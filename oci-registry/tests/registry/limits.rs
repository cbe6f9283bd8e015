//! Limits against abuse: slow headers (slowloris) and silent TLS
//! handshakes cut off, stalled bodies ended with the upload kept
//! resumable, clients killed mid-upload, 429 with `Retry-After` for the
//! rate and the uploads per client, the small-body cap; and nothing left
//! open afterwards (the binary's file descriptors are counted).

use std::time::{Duration, Instant};

use ocikit_registry::{Limits, Rate, Registry, RunningRegistry};
use ocikit_types::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::served::Served;
use crate::support::{error_code, http, noise};

fn short(header: u64, body: u64) -> Limits {
    let mut l = Limits::default();
    l.header_timeout = Duration::from_secs(header);
    l.body_timeout = Duration::from_secs(body);
    l
}

async fn spawn(limits: Limits) -> RunningRegistry {
    Registry::builder()
        .limits(limits)
        .spawn("127.0.0.1:0")
        .await
        .unwrap()
}

/// Reads until the server closes the connection (at most 20 s); returns
/// what it sent.
async fn until_closed(conn: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&got).into_owned()
}

/// Waits (at most 20 s) until the registry has no connection open.
async fn no_connections(reg: &RunningRegistry) {
    let start = Instant::now();
    while reg.connections() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} connections stay open",
            reg.connections()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts an upload session; returns its path.
async fn session(base: &str, repo: &str) -> String {
    let resp = http()
        .post(format!("{base}/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// Sends a PATCH of `total` announced bytes to `location`, of which only
/// `sent` are sent, and returns the connection.
async fn partial_patch(addr: &str, location: &str, data: &[u8], total: usize) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: {total}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(data).await.unwrap();
    conn.flush().await.unwrap();
    conn
}

async fn slow_headers_are_cut_off_after_the_header_timeout() {
    let reg = spawn(short(1, 60)).await;
    let conn = TcpStream::connect(reg.addr()).await.unwrap();
    let (mut rd, mut wr) = conn.into_split();
    let request = format!(
        "GET /v2/ HTTP/1.1\r\nhost: x\r\nx-slow: {}\r\n\r\n",
        "a".repeat(100)
    );
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        for b in request.as_bytes() {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (sent, request.len())
    });
    let reply = until_closed(&mut rd).await;
    assert!(!reply.contains("200 OK"), "{reply}");
    writer.abort();
    no_connections(&reg).await;
    // The registry still serves others.
    let resp = http()
        .get(format!("{}/v2/", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

async fn a_silent_tls_handshake_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = testkit::auth::tls_files(dir.path());
    let reg = Registry::builder()
        .tls(&cert, &key)
        .limits(short(1, 60))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let mut conn = TcpStream::connect(reg.addr()).await.unwrap();
    until_closed(&mut conn).await;
    no_connections(&reg).await;
}

async fn a_stalled_body_ends_its_request_and_the_upload_resumes() {
    let reg = spawn(short(30, 1)).await;
    let base = reg.url();
    let data = noise(1000, 7);
    let location = session(&base, "stall/app").await;
    let mut conn = partial_patch(&reg.host(), &location, &data[..100], data.len()).await;
    let reply = until_closed(&mut conn).await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.contains("BLOB_UPLOAD_INVALID"), "{reply}");
    no_connections(&reg).await;
    // What arrived is kept, and the upload goes on from there.
    let status = http()
        .get(format!("{base}{location}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"], "0-99");
    let resp = http()
        .patch(format!("{base}{location}"))
        .header("content-range", "100-999")
        .header("content-type", "application/octet-stream")
        .body(data[100..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let digest = Digest::sha256(&data);
    let resp = http()
        .put(format!("{base}{location}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let blob = http()
        .get(format!("{base}/v2/stall/app/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(blob.bytes().await.unwrap(), data);
}

async fn requests_over_the_rate_get_429_with_retry_after() {
    let mut limits = Limits::default();
    limits.rate = Some(Rate::new(1, 2));
    let reg = spawn(limits).await;
    let mut refused = None;
    for _ in 0..6 {
        let resp = http()
            .get(format!("{}/v2/", reg.url()))
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            refused = Some(resp);
            break;
        }
    }
    let resp = refused.expect("six requests at once stayed under 1 a second with bursts of 2");
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(error_code(resp).await, "TOOMANYREQUESTS");
}

async fn uploads_over_the_per_client_limit_get_429() {
    let mut limits = short(30, 30);
    limits.uploads_per_client = Some(1);
    let reg = spawn(limits).await;
    let base = reg.url();
    let location = session(&base, "busy/app").await;
    let held = partial_patch(&reg.host(), &location, b"abc", 10).await;
    // Once the held upload is counted, another is refused.
    let start = Instant::now();
    let resp = loop {
        let resp = http()
            .post(format!("{base}/v2/busy/app/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            break resp;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(error_code(resp).await, "TOOMANYREQUESTS");
    // The client gives up its upload: its slot is free again.
    drop(held);
    let start = Instant::now();
    loop {
        let resp = http()
            .post(format!("{base}/v2/busy/app/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        if resp.status() == 202 {
            break;
        }
        assert_eq!(resp.status(), 429);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the slot was not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bodies_on_routes_that_take_none_are_capped() {
    let reg = spawn(Limits::default()).await;
    let resp = http()
        .get(format!("{}/v2/", reg.url()))
        .body(vec![0u8; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(error_code(resp).await, "SIZE_INVALID");
    let resp = http()
        .get(format!("{}/v2/", reg.url()))
        .body(vec![0u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Upload bodies are not small: a 1 MiB monolithic push goes through.
    let data = noise(1 << 20, 3);
    let digest = Digest::sha256(&data);
    let resp = http()
        .post(format!(
            "{}/v2/big/app/blobs/uploads/?digest={digest}",
            reg.url()
        ))
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

async fn a_reply_nobody_reads_is_cut_off() {
    let reg = spawn(short(30, 1)).await;
    let data = noise(32 << 20, 9);
    let digest = Digest::sha256(&data);
    let resp = http()
        .post(format!(
            "{}/v2/unread/app/blobs/uploads/?digest={digest}",
            reg.url()
        ))
        .header("content-type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    no_connections(&reg).await;
    // A small receive buffer: loopback's may hold all 32 MiB.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8192).unwrap();
    let mut conn = socket.connect(reg.addr()).await.unwrap();
    let get = format!("GET /v2/unread/app/blobs/{digest} HTTP/1.1\r\nhost: x\r\n\r\n");
    conn.write_all(get.as_bytes()).await.unwrap();
    let start = Instant::now();
    while reg.connections() == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "not accepted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The client reads nothing: more than the sockets' buffers stays
    // unsent, and the server gives the connection up.
    no_connections(&reg).await;
    drop(conn);
}

/// Slow, stalled and killed clients against the binary: its file
/// descriptors come back to what they were, while the test still holds
/// the stalled connections open.
async fn abusive_clients_leave_no_file_descriptor_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(
        dir.path(),
        "  limits:\n    headertimeout: 1s\n    bodytimeout: 1s\n",
    );
    let base = format!("http://{}", server.host());
    // Listening, before any connection.
    let before = server.steady_fds().await;
    let data = noise(300 << 10, 5);
    let killed = session(&base, "killed/app").await;
    let stalled = session(&base, "stalled/app").await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut c = TcpStream::connect(server.host()).await.unwrap();
        c.write_all(b"GET /v2/ HTTP/1.1\r\nhost: x\r\nx-slow: a")
            .await
            .unwrap();
        held.push(c);
    }
    held.push(partial_patch(&server.host(), &stalled, &data[..1000], data.len()).await);
    // A client killed mid-upload: its connection closes with the body
    // half sent.
    drop(partial_patch(&server.host(), &killed, &data, 1 << 20).await);
    let after = server.settle_fds(before).await;
    assert_eq!(
        after,
        before,
        "file descriptors before and after:\n{}\n{}",
        server.open_files(),
        server.log_text()
    );
    for (location, size) in [(&killed, data.len()), (&stalled, 1000)] {
        let status = http()
            .get(format!("{base}{location}"))
            .send()
            .await
            .unwrap();
        assert_eq!(status.status(), 204);
        assert_eq!(
            status.headers()["range"],
            format!("0-{}", size - 1).as_str()
        );
    }
    for mut c in held {
        until_closed(&mut c).await;
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async slow_headers_are_cut_off_after_the_header_timeout,
    a_silent_tls_handshake_is_cut_off,
    a_stalled_body_ends_its_request_and_the_upload_resumes,
    requests_over_the_rate_get_429_with_retry_after,
    uploads_over_the_per_client_limit_get_429,
    bodies_on_routes_that_take_none_are_capped,
    a_reply_nobody_reads_is_cut_off,
    abusive_clients_leave_no_file_descriptor_open,
];
