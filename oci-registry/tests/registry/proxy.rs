//! The pull-through cache: ocikit-registry mirroring docker-registry,
//! skopeo, ocikit's client and podman pulling through it, and the fault
//! server as an upstream that lies or is shared by clients missing the
//! same blob (upstreams asking for credentials: `proxy_auth`).

use std::process::Command;
use std::time::{Duration, Instant};

use ocikit_distribution::{ClientBuilder, Platforms};
use ocikit_image::Layout;
use ocikit_registry::{Registry, RunningRegistry, Upstream};
use ocikit_types::{Descriptor, Digest, Platform, Reference};
use testkit::fault::{reply, FaultServer};

use crate::peer::{containers_env, ok, unmount_under};
use crate::support::{build_image, client, http, noise, reference};

/// A cache of `upstream` (plain HTTP) with filesystem storage in `dir`.
async fn mirror(upstream: &str, ttl: Duration, dir: &std::path::Path) -> RunningRegistry {
    cache_of(upstream, ttl, dir)
        .spawn("127.0.0.1:0")
        .await
        .unwrap()
}

/// The registry [`mirror`] serves, to look into its storage.
fn cache_of(upstream: &str, ttl: Duration, dir: &std::path::Path) -> Registry {
    Registry::builder()
        .filesystem(dir.join("cache"))
        .pull_through(
            Upstream::new(&format!("http://{upstream}"))
                .unwrap()
                .tag_ttl(ttl),
        )
        .build()
        .unwrap()
}

/// Pushes `image` of `layout` to docker-registry at `addr` as `repo`.
async fn push_upstream(addr: &str, layout: &Layout, image: &Descriptor, repo: &str) {
    let c = ClientBuilder::new()
        .insecure_http_host(addr)
        .build()
        .unwrap();
    let r: Reference = format!("{addr}/{repo}").parse().unwrap();
    assert_eq!(c.push_image(layout, image, &r).await.unwrap(), image.digest);
}

/// `skopeo copy --all --preserve-digests` of `docker://FROM` into a new
/// layout at `to`; returns the digest skopeo wrote.
async fn skopeo_pull(from: &str, to: &std::path::Path) -> Digest {
    let file = to.with_extension("digest");
    let mut c = Command::new("skopeo");
    c.args(["copy", "--quiet", "--all", "--preserve-digests"])
        .arg("--src-tls-verify=false")
        .arg("--digestfile")
        .arg(&file)
        .arg(format!("docker://{from}"))
        .arg(format!("oci:{}:got", to.display()));
    ok(c).await;
    let layout = Layout::open(to).unwrap();
    assert!(layout.verify().unwrap().is_ok());
    let got = layout.resolve("got").unwrap().digest;
    assert_eq!(std::fs::read_to_string(file).unwrap().trim(), got.as_str());
    got
}

/// The status and error code of a `GET` of `url`.
async fn answer(url: &str) -> (u16, String) {
    let resp = http().get(url).send().await.unwrap();
    (
        resp.status().as_u16(),
        crate::support::error_code(resp).await,
    )
}

/// skopeo copies a multi-platform index pushed to docker-registry from
/// the cache with every digest kept; with the upstream stopped, a second
/// copy is served from the cache alone (by tag and by digest).
async fn skopeo_pulls_through_the_cache_and_then_from_it_alone() {
    if !testkit::need::tool("skopeo") {
        return;
    }
    let Some(upstream) = testkit::registry::Registry::start() else {
        return;
    };
    let dir = testkit::temp::dir("proxy-skopeo");
    let src = Layout::create(dir.path().join("src")).unwrap();
    let amd = build_image(&src, "amd64", 2, 300_000);
    let arm = build_image(&src, "arm64", 1, 50_000);
    let index = ocikit_image::write_index(&src, vec![amd, arm]).unwrap();
    push_upstream(&upstream.addr, &src, &index, "lib/app:v1").await;
    let registry = cache_of(&upstream.addr, Duration::ZERO, dir.path());
    let cache = registry.spawn("127.0.0.1:0").await.unwrap();
    let from = format!("{}/lib/app:v1", cache.host());

    assert_eq!(
        skopeo_pull(&from, &dir.path().join("first")).await,
        index.digest
    );
    let name = ocikit_registry::RepositoryName::parse("lib/app").unwrap();
    assert!(registry
        .storage()
        .manifest(&name, &index.digest)
        .unwrap()
        .is_some());

    drop(upstream);
    assert_eq!(
        skopeo_pull(&from, &dir.path().join("again")).await,
        index.digest
    );
    let by_digest = format!("{}/lib/app@{}", cache.host(), index.digest);
    assert_eq!(
        skopeo_pull(&by_digest, &dir.path().join("pinned")).await,
        index.digest
    );
    // What was never cached is an error naming the upstream, not a hang.
    let url = format!("{}/v2/lib/app/manifests/v2", cache.url());
    assert_eq!(answer(&url).await, (502, "UNAVAILABLE".to_owned()));
}

/// A tag moved upstream is served as it was until the TTL has passed,
/// then as it is now.
async fn a_tag_moved_upstream_is_seen_after_the_ttl() {
    let Some(upstream) = testkit::registry::Registry::start() else {
        return;
    };
    let dir = testkit::temp::dir("proxy-ttl");
    let src = Layout::create(dir.path().join("src")).unwrap();
    let one = build_image(&src, "amd64", 1, 1000);
    let two = build_image(&src, "arm64", 1, 2000);
    push_upstream(&upstream.addr, &src, &one, "app:v1").await;
    let ttl = Duration::from_secs(2);
    let cache = mirror(&upstream.addr, ttl, dir.path()).await;
    let c = client(&cache);
    let r = reference(&cache, "app:v1");
    assert_eq!(c.pull_manifest(&r).await.unwrap().digest, one.digest);
    let checked = Instant::now();

    push_upstream(&upstream.addr, &src, &two, "app:v1").await;
    let seen = c.pull_manifest(&r).await.unwrap().digest;
    if checked.elapsed() < ttl {
        assert_eq!(
            seen, one.digest,
            "the tag was asked upstream within its TTL"
        );
    }
    tokio::time::sleep(ttl.saturating_sub(checked.elapsed()) + Duration::from_millis(100)).await;
    assert_eq!(c.pull_manifest(&r).await.unwrap().digest, two.digest);
    assert_eq!(
        c.head_manifest(&r).await.unwrap().unwrap().digest,
        two.digest
    );
    // The blobs of the new manifest come through too.
    let got = dir.path().join("got");
    let platform = Platforms::Only(Platform::new("linux", "arm64"));
    let (layout, desc) = c.pull_image_to(&r, &got, &platform).await.unwrap();
    assert_eq!(desc.digest, two.digest);
    assert!(layout.verify().unwrap().is_ok());
}

/// An upstream that sends a blob or a manifest whose bytes do not match
/// their digest: the client gets an error, nothing is stored, and the
/// next request asks the upstream again.
async fn a_lying_upstream_is_refused_and_nothing_is_stored() {
    let real = noise(100_000, 7);
    let digest = Digest::sha256(&real);
    let manifest_digest = Digest::sha256(b"{}");
    let size = real.len().to_string();
    let dg = digest.to_string();
    let lie = FaultServer::start(move |req| {
        if req.path.contains("/blobs/") && req.path.ends_with(dg.as_str()) {
            let wrong = noise(100_000, 8);
            return reply(200, &[("content-length", size.as_str())], &wrong);
        }
        if req.path.contains("/manifests/") {
            let ct = "application/vnd.oci.image.manifest.v1+json";
            return reply(200, &[("content-type", ct)], br#"{"schemaVersion":2}"#);
        }
        reply(404, &[], b"")
    })
    .await;
    let dir = testkit::temp::dir("proxy-lie");
    let registry = cache_of(&lie.addr, Duration::ZERO, dir.path());
    let cache = registry.spawn("127.0.0.1:0").await.unwrap();
    let url = format!("{}/v2/lie/app/blobs/{digest}", cache.url());
    for _ in 0..2 {
        let resp = http().get(&url).send().await.unwrap();
        // The status and length were sent before the bytes were known
        // to be wrong: the body is cut short of them.
        let body = resp.bytes().await;
        assert!(body.is_err(), "a wrong blob was served whole");
    }
    assert_eq!(lie.count("GET", "/v2/lie/app/blobs/"), 2);
    let name = ocikit_registry::RepositoryName::parse("lie/app").unwrap();
    let s = registry.storage();
    assert!(!s.has_any_blob(&digest).unwrap());
    assert_eq!(s.blob_size(&name, &digest).unwrap(), None);

    let url = format!("{}/v2/lie/app/manifests/{manifest_digest}", cache.url());
    assert_eq!(answer(&url).await, (502, "UNAVAILABLE".to_owned()));
    assert!(s.manifest(&name, &manifest_digest).unwrap().is_none());
}

/// Clients missing the same blob at once are served by one upstream
/// fetch (a client coming after it ends reads the stored blob).
async fn clients_missing_the_same_blob_share_one_upstream_fetch() {
    let blob = noise(4 << 20, 3);
    let digest = Digest::sha256(&blob);
    let (size, dg, body) = (blob.len().to_string(), digest.to_string(), blob.clone());
    let up = FaultServer::start(move |req| {
        if req.path.ends_with(dg.as_str()) {
            return reply(200, &[("content-length", size.as_str())], &body);
        }
        reply(404, &[], b"")
    })
    .await;
    let dir = testkit::temp::dir("proxy-share");
    let cache = mirror(&up.addr, Duration::ZERO, dir.path()).await;
    let url = format!("{}/v2/shared/blob/blobs/{digest}", cache.url());
    let h = http();
    let gets = (0..4).map(|_| {
        let (h, url) = (h.clone(), url.clone());
        async move { h.get(&url).send().await.unwrap().bytes().await.unwrap() }
    });
    for got in futures_util::future::join_all(gets).await {
        assert!(got == blob, "a client got other bytes");
    }
    let again = h.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert!(again == blob);
    assert_eq!(up.count("GET", "/v2/shared/blob/blobs/"), 1);
    let head = h.head(&url).send().await.unwrap();
    assert_eq!(head.headers()["content-length"], blob.len().to_string());
}

/// Pushes, uploads and deletes are refused with 405 `UNSUPPORTED`.
async fn pushes_and_deletes_are_refused() {
    let up = FaultServer::start(|_| reply(404, &[], b"")).await;
    let dir = testkit::temp::dir("proxy-push");
    let cache = mirror(&up.addr, Duration::ZERO, dir.path()).await;
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    let e = client(&cache)
        .push_image(&src, &image, &reference(&cache, "a/b:v1"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(405), "{e}");
    let h = http();
    let base = format!("{}/v2/a/b", cache.url());
    let d = Digest::sha256(b"x");
    for (method, path) in [
        (reqwest::Method::POST, "/blobs/uploads/".to_owned()),
        (reqwest::Method::PUT, "/manifests/v1".to_owned()),
        (reqwest::Method::DELETE, format!("/manifests/{d}")),
        (reqwest::Method::DELETE, format!("/blobs/{d}")),
    ] {
        let resp = h
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(crate::support::error_code(resp).await, "UNSUPPORTED");
    }
    assert_eq!(up.count("POST", "/"), 0);
}

/// podman pulls busybox through the cache from docker-registry, with
/// the digest pushed upstream.
async fn podman_pulls_through_the_cache() {
    let tools = ["podman", "conmon", "runc", testkit::busybox::BINARY];
    if !testkit::need::root_and(&tools) {
        return;
    }
    let Some(upstream) = testkit::registry::Registry::start() else {
        return;
    };
    let dir = testkit::temp::dir("proxy-podman");
    let (layout, image) = crate::peer::busybox(dir.path());
    push_upstream(&upstream.addr, &layout, &image, "lib/busybox:v1").await;
    let cache = mirror(&upstream.addr, Duration::ZERO, dir.path()).await;
    let home = dir.path().join("podman");
    std::fs::create_dir_all(&home).unwrap();
    let env = containers_env(&home);
    let podman = |args: &[&str]| {
        let mut c = Command::new("podman");
        c.envs(env.iter().map(|(k, v)| (k, v)))
            .arg("--root")
            .arg(home.join("storage"))
            .arg("--runroot")
            .arg(home.join("runroot"))
            .args([
                "--storage-driver",
                "overlay",
                "--cgroup-manager",
                "cgroupfs",
            ])
            .args(["--events-backend", "file"])
            .args(args);
        c
    };
    let name = format!("{}/lib/busybox:v1", cache.host());
    ok(podman(&["pull", "-q", "--tls-verify=false", &name])).await;
    let digest = ok(podman(&[
        "image",
        "inspect",
        "--format",
        "{{.Digest}}",
        &name,
    ]))
    .await;
    let _ = crate::peer::output(podman(&["rmi", "--all", "--force"])).await;
    unmount_under(&home);
    assert_eq!(digest.trim(), image.digest.as_str());
}

/// `ocikit-registry serve` with `proxy.remoteurl` and `proxy.ttl` in its
/// config is a cache of docker-registry.
async fn the_binary_serves_a_cache_from_its_config() {
    let Some(upstream) = testkit::registry::Registry::start() else {
        return;
    };
    let dir = testkit::temp::dir("proxy-cli");
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 5000);
    push_upstream(&upstream.addr, &src, &image, "app:v1").await;
    let port = testkit::registry::free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nproxy:\n  remoteurl: http://{}\n  ttl: 10m\n",
            dir.path().join("data").display(),
            upstream.addr
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ocikit-registry"))
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(child);
    let host = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while tokio::net::TcpStream::connect(&host).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not listen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = ClientBuilder::new()
        .insecure_http_host(&host)
        .build()
        .unwrap();
    let r: Reference = format!("{host}/app:v1").parse().unwrap();
    let got = dir.path().join("got");
    let (layout, desc) = c.pull_image_to(&r, &got, &Platforms::All).await.unwrap();
    assert_eq!(desc.digest, image.digest);
    assert!(layout.verify().unwrap().is_ok());
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async skopeo_pulls_through_the_cache_and_then_from_it_alone,
    a_tag_moved_upstream_is_seen_after_the_ttl,
    a_lying_upstream_is_refused_and_nothing_is_stored,
    clients_missing_the_same_blob_share_one_upstream_fetch,
    pushes_and_deletes_are_refused,
    podman_pulls_through_the_cache,
    the_binary_serves_a_cache_from_its_config,
];
