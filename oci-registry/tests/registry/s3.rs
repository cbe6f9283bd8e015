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

/// `ocikit-registry serve` on a free loopback port with `weed`'s bucket,
/// killed on drop.
pub(crate) struct Served {
    child: std::process::Child,
    /// `127.0.0.1:PORT`.
    pub(crate) host: String,
    _dir: tempfile::TempDir,
}

impl Served {
    pub(crate) fn start(weed: &Seaweed, root: &str, redirect: bool) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let port = testkit::registry::free_port();
        let config = dir.path().join("config.yml");
        let yaml = format!(
            "version: 0.1\nlog:\n  level: warn\n{}http:\n  addr: 127.0.0.1:{port}\n",
            storage_yaml(weed, root, redirect)
        );
        std::fs::write(&config, yaml).unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_ocikit-registry"))
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(start.elapsed().as_secs() < 20, "the server did not listen");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Served {
            child,
            host,
            _dir: dir,
        }
    }

    /// The largest resident set the server had, in KiB (`VmHWM`).
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    crate::conformance::run(&suite, &[], |_| storage_yaml(&weed, "conformance", false));
}

/// With redirects on, a blob `GET` is answered `307` with a presigned URL
/// of the store (a `HEAD` is answered by the registry); ocikit's client
/// and skopeo follow it and pull the image with its digests.
async fn clients_follow_redirects_to_the_store() {
    let Some(weed) = Seaweed::start() else { return };
    let reg = spawn(&weed, "redirect", true).await;
    let dir = tempfile::tempdir().unwrap();
    let src = ocikit_image::Layout::create(dir.path().join("src")).unwrap();
    let image = crate::support::build_image(&src, "amd64", 2, 200_000);
    let r = crate::support::reference(&reg, "redir/app:v1");
    let c = crate::support::client(&reg);
    c.push_image(&src, &image, &r).await.unwrap();

    let layer = &src
        .read_document::<ocikit_types::ImageManifest>(&image)
        .unwrap();
    let layer = &layer.value().layers[0];
    let url = format!("http://{}/v2/redir/app/blobs/{}", reg.host(), layer.digest);
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_follow.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 307);
    let location = resp.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&weed.endpoint), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    let head = no_follow.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        layer.size.to_string().as_str()
    );

    let dst = ocikit_image::Layout::create(dir.path().join("dst")).unwrap();
    let got = c
        .pull_image(&r, &dst, &ocikit_distribution::Platforms::All)
        .await
        .unwrap();
    assert_eq!(got.digest, image.digest);
    assert!(dst.verify().unwrap().is_ok());

    if !testkit::need::tool("skopeo") {
        return;
    }
    let from = format!("docker://{}/redir/app:v1", reg.host());
    let to = format!("oci:{}:v1", dir.path().join("skopeo").display());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--preserve-digests",
                "--src-tls-verify=false",
                &from,
                &to,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pulled = ocikit_image::Layout::open(dir.path().join("skopeo")).unwrap();
    assert_eq!(pulled.resolve("v1").unwrap().digest, image.digest);
    assert!(pulled.verify().unwrap().is_ok());
}

/// Size of the large blob: 200 MiB and a bit, in 1 MiB blocks.
const LARGE_BLOCKS: u64 = 201;
const BLOCK: usize = 1 << 20;

/// Block `i` of the large blob: noise, numbered.
fn block(base: &[u8], i: u64) -> bytes::Bytes {
    let mut b = base.to_vec();
    b[..8].copy_from_slice(&i.to_le_bytes());
    b.into()
}

/// A 201 MiB blob streamed up in one `PATCH` and down again through
/// `ocikit-registry serve`: the digest matches both ways, and the server's
/// peak resident memory stays far below the blob's size (no whole blob in
/// memory: segments of 1 MiB, parts of 5 MiB).
async fn a_large_blob_keeps_the_servers_memory_bounded() {
    use futures_util::StreamExt;
    let Some(weed) = Seaweed::start() else { return };
    let server = Served::start(&weed, "large", false);
    let base = crate::support::noise(BLOCK, 7);
    let mut hasher = ocikit_types::Digester::new(ocikit_types::Algorithm::Sha256);
    for i in 0..LARGE_BLOCKS {
        hasher.update(&block(&base, i));
    }
    let digest = hasher.finalize();
    let http = reqwest::Client::new();
    let url = format!("http://{}/v2/big/blob/blobs/uploads/", server.host);
    let resp = http.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let session = format!("http://{}{location}", server.host);
    let b = base.clone();
    let body = futures_util::stream::iter(0..LARGE_BLOCKS)
        .map(move |i| Ok::<_, std::io::Error>(block(&b, i)));
    let resp = http
        .patch(&session)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = http
        .put(format!("{session}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);

    let blob = format!("http://{}/v2/big/blob/blobs/{digest}", server.host);
    let resp = http.get(&blob).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = ocikit_types::Digester::new(ocikit_types::Algorithm::Sha256);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        got.update(&chunk.unwrap());
    }
    assert_eq!(got.bytes(), LARGE_BLOCKS * BLOCK as u64);
    assert_eq!(got.finalize(), digest);
    let peak = server.peak_rss_kib();
    println!("large blob: server peak RSS {} MiB", peak / 1024);
    assert!(peak < 100 * 1024, "the server's peak RSS was {peak} KiB");
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
    async ocikit_client_round_trip_on_s3,
    a_large_blob_keeps_the_servers_memory_bounded,
    clients_follow_redirects_to_the_store
];
