//! Upload sessions: they survive a restart of the server, and expire
//! after their idle time (on demand, or periodically from the builder),
//! after which a client gets `BLOB_UPLOAD_UNKNOWN`.

use std::time::{Duration, Instant};

use ocikit_registry::{GcOptions, Registry, UploadPurging};
use ocikit_types::Digest;

use crate::push::Pusher;
use crate::support::{error_code, noise};

/// Starts a session and sends `bytes` to it; returns its URL.
async fn session_with(p: &Pusher, repo: &str, bytes: &[u8]) -> String {
    let resp =
        p.h.post(format!("{}/v2/{repo}/blobs/uploads/", p.base))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 202);
    let url = format!("{}{}", p.base, resp.headers()["location"].to_str().unwrap());
    let resp = p.h.patch(&url).body(bytes.to_vec()).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    url
}

async fn an_upload_session_survives_a_restart_of_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = noise(300_000, 4);
    let digest = Digest::sha256(&data);
    let first = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let p = Pusher::new(first.url());
    let url = session_with(&p, "r", &data[..100_000]).await;
    let path = url.strip_prefix(&first.url()).unwrap().to_owned();
    first.shutdown().await;
    let second = Registry::builder()
        .filesystem(dir.path())
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let p = Pusher::new(second.url());
    let resp =
        p.h.put(format!("{}{path}?digest={digest}", second.url()))
            .header("content-range", format!("100000-{}", data.len() - 1))
            .body(data[100_000..].to_vec())
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(p.pull("r", &digest).await.unwrap(), data);
    second.shutdown().await;
}

async fn expired_uploads_are_removed_and_the_client_gets_blob_upload_unknown() {
    for dir in [Some(tempfile::tempdir().unwrap()), None] {
        let mut b = Registry::builder();
        match &dir {
            Some(d) => b.filesystem(d.path()),
            None => b.in_memory(),
        };
        let reg = b.build().unwrap();
        let running = reg.spawn("127.0.0.1:0").await.unwrap();
        let p = Pusher::new(running.url());
        let url = session_with(&p, "r", b"some bytes").await;
        // Idle for less than an hour: it stays.
        let mut options = GcOptions::new();
        options.upload_age = Some(Duration::from_secs(3600));
        let report = reg.collect_garbage(options.clone()).await.unwrap();
        assert!(report.uploads.is_empty());
        // Any idle time will do: it goes (a dry run first lists it).
        options.upload_age = Some(Duration::ZERO);
        options.dry_run = true;
        let dry = reg.collect_garbage(options.clone()).await.unwrap();
        assert_eq!(dry.uploads.len(), 1);
        assert_eq!(p.h.get(&url).send().await.unwrap().status(), 204);
        options.dry_run = false;
        let report = reg.collect_garbage(options).await.unwrap();
        assert_eq!(report.uploads, dry.uploads);
        assert_eq!(report.uploads[0].size, 10);
        assert_eq!(report.bytes_freed, 10);
        for req in [
            p.h.get(&url),
            p.h.patch(&url).body("more"),
            p.h.put(format!("{url}?digest={}", Digest::sha256(b"x"))),
        ] {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 404);
            assert_eq!(error_code(resp).await, "BLOB_UPLOAD_UNKNOWN");
        }
        if let Some(d) = &dir {
            assert_eq!(
                std::fs::read_dir(d.path().join("_uploads"))
                    .unwrap()
                    .count(),
                0
            );
        }
        running.shutdown().await;
    }
}

async fn the_builder_s_upload_purging_runs_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut purging = UploadPurging::new();
    purging.age = Duration::from_secs(1);
    purging.interval = Duration::from_secs(1);
    let running = Registry::builder()
        .filesystem(dir.path())
        .upload_purging(Some(purging))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let p = Pusher::new(running.url());
    let url = session_with(&p, "r", b"abandoned").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = p.h.get(&url).send().await.unwrap();
        if resp.status() == 404 {
            assert_eq!(error_code(resp).await, "BLOB_UPLOAD_UNKNOWN");
            break;
        }
        assert!(Instant::now() < deadline, "the session was never purged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("_uploads"))
            .unwrap()
            .count(),
        0
    );
    running.shutdown().await;
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    an_upload_session_survives_a_restart_of_the_server,
    expired_uploads_are_removed_and_the_client_gets_blob_upload_unknown,
    the_builder_s_upload_purging_runs_while_serving,
];
