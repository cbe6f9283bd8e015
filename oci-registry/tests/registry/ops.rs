//! Operations: the metrics and the health check on the debug address.

use std::collections::BTreeMap;
use std::time::Duration;

use ocikit_registry::Registry;
use ocikit_types::Digest;

use crate::support::{http, noise};

/// A Prometheus text exposition parsed back: each sample (`name{labels}`
/// as written) and its value. Panics on anything the format forbids:
/// a sample before its family's `# TYPE`, a bad name, unquoted or
/// unterminated label values, a value that is not a number.
pub(crate) fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(name_ok(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(typed.insert(name.into(), kind.into()).is_none(), "{line}");
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line}");
        let (series, value) = line.rsplit_once(' ').expect("sample and value");
        let name = series.split('{').next().unwrap();
        assert!(name_ok(name), "{line}");
        // Summaries and histograms sample NAME_sum, NAME_count, NAME_bucket.
        let family = ["_sum", "_count", "_bucket"]
            .iter()
            .filter_map(|suffix| name.strip_suffix(suffix))
            .find(|f| {
                matches!(
                    typed.get(*f).map(String::as_str),
                    Some("summary" | "histogram")
                )
            })
            .unwrap_or(name);
        assert!(typed.contains_key(family), "{name} sampled before its TYPE");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .expect("labels in braces");
            for pair in inner.split(',') {
                let (k, v) = pair.split_once('=').expect("label=value");
                assert!(name_ok(k), "{line}");
                assert!(
                    v.len() >= 2 && v.starts_with('"') && v.ends_with('"'),
                    "{line}"
                );
                assert!(!v[1..v.len() - 1].contains(['"', '\n']), "{line}");
            }
        }
        let value: f64 = value.parse().expect("a number");
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

async fn metrics_count_a_push_and_a_pull() {
    let reg = Registry::builder()
        .debug_addr("127.0.0.1:0")
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let debug = reg.debug_addr().unwrap();
    let h = http();
    let data = noise(1500, 3);
    let digest = Digest::sha256(&data);
    // Push: a session, a 1000-byte chunk, the last 500 bytes with PUT.
    let resp = h
        .post(format!("{}/v2/team/app/blobs/uploads/", reg.url()))
        .header("authorization", "Basic c2VjcmV0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let url = format!(
        "{}{}",
        reg.url(),
        resp.headers()["location"].to_str().unwrap()
    );
    let resp = h
        .patch(&url)
        .body(data[..1000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = h
        .put(format!("{url}?digest={digest}"))
        .body(data[1000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Pull: HEAD, GET, and a miss.
    let blob = format!("{}/v2/team/app/blobs/{digest}", reg.url());
    assert_eq!(h.head(&blob).send().await.unwrap().status(), 200);
    let got = h.get(&blob).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), &data[..]);
    let missing = format!("{}/v2/team/app/blobs/{}", reg.url(), Digest::sha256(b"x"));
    assert_eq!(h.get(&missing).send().await.unwrap().status(), 404);

    let resp = h
        .get(format!("http://{debug}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    // Bounded labels: no repository, digest or session id.
    assert!(!text.contains("team/app"), "{text}");
    assert!(!text.contains("sha256"), "{text}");
    let m = parse_prometheus(&text);
    let req = |route: &str, method: &str, code: u16| {
        m.get(&format!(
            "ocikit_registry_http_requests_total{{route=\"{route}\",method=\"{method}\",code=\"{code}\"}}"
        ))
        .copied()
    };
    assert_eq!(req("blob_upload", "POST", 202), Some(1.0), "{text}");
    assert_eq!(req("blob_upload_chunk", "PATCH", 202), Some(1.0), "{text}");
    assert_eq!(req("blob_upload_chunk", "PUT", 201), Some(1.0), "{text}");
    assert_eq!(req("blob", "HEAD", 200), Some(1.0), "{text}");
    assert_eq!(req("blob", "GET", 200), Some(1.0), "{text}");
    assert_eq!(req("blob", "GET", 404), Some(1.0), "{text}");
    let received =
        |route: &str| m[&format!("ocikit_registry_http_received_bytes_total{{route=\"{route}\"}}")];
    let sent =
        |route: &str| m[&format!("ocikit_registry_http_sent_bytes_total{{route=\"{route}\"}}")];
    assert_eq!(received("blob_upload_chunk"), 1500.0);
    assert_eq!(received("blob_upload"), 0.0);
    // The blob's bytes, plus the 404's error body.
    let error_body = sent("blob") - 1500.0;
    assert!(error_body > 0.0 && error_body < 300.0, "{error_body}");
    assert_eq!(m["ocikit_registry_uploads_in_progress"], 0.0);
    assert_eq!(m["ocikit_registry_http_requests_in_flight"], 0.0);
    assert_eq!(m["ocikit_registry_storage_bytes"], 1500.0);
    // The scrape itself is not an API request.
    assert_eq!(
        m.keys()
            .filter(|k| k.contains("route=\"unknown\","))
            .count(),
        0
    );
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(samples, m.len());
    reg.shutdown().await;
}

async fn the_storage_size_is_cached_for_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::builder()
        .filesystem(dir.path())
        .storage_size_interval(Duration::from_secs(3600))
        .metrics_path(Some("/prom"))
        .debug_addr("127.0.0.1:0")
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let debug = reg.debug_addr().unwrap();
    let h = http();
    let scrape = || async {
        let text = h
            .get(format!("http://{debug}/prom"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        parse_prometheus(&text)["ocikit_registry_storage_bytes"]
    };
    let before = scrape().await;
    let data = noise(4096, 9);
    let resp = h
        .post(format!(
            "{}/v2/r/blobs/uploads/?digest={}",
            reg.url(),
            Digest::sha256(&data)
        ))
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // Within the interval the cached measure is served.
    assert_eq!(scrape().await, before);
    let fresh = Registry::builder()
        .filesystem(dir.path())
        .build()
        .unwrap()
        .metrics()
        .await;
    let size = parse_prometheus(&fresh)["ocikit_registry_storage_bytes"];
    assert!(size >= before + 4096.0, "{size} {before}");
    assert_eq!(
        h.get(format!("http://{debug}/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn health_fails_when_the_storage_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let reg = Registry::builder()
        .filesystem(&root)
        .metrics_path(None)
        .debug_addr("127.0.0.1:0")
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("http://{}/debug/health", reg.debug_addr().unwrap());
    let h = http();
    let resp = h.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "{}");
    // The check leaves nothing behind.
    let uploads = std::fs::read_dir(root.join("_uploads")).unwrap().count();
    assert_eq!(uploads, 0);
    let catalog = h
        .get(format!("{}/v2/_catalog", reg.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!catalog.contains("health"), "{catalog}");
    let metrics = h
        .get(format!("http://{}/metrics", reg.debug_addr().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 404, "metrics are off");

    std::fs::remove_dir_all(&root).unwrap();
    let resp = h.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    let why = body["storage"].as_str().unwrap();
    assert!(why.contains(&root.display().to_string()), "{why}");
}

/// A metrics path is compared as written: characters axum's routes
/// would read as captures neither panic nor match other paths.
async fn odd_metrics_paths_are_served_as_written() {
    let reg = Registry::builder()
        .metrics_path(Some("/m/*rest"))
        .debug_addr("127.0.0.1:0")
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let debug = reg.debug_addr().unwrap();
    let h = http();
    let status = |p: &'static str| {
        let h = h.clone();
        async move {
            h.get(format!("http://{debug}{p}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status("/m/*rest").await, 200);
    assert_eq!(status("/m/other").await, 404);
    assert_eq!(status("/debug/health").await, 200);
}

/// The same `http.debug` section means the same to Distribution and to
/// us: health at `/debug/health` answering `{}`, Prometheus text at the
/// configured path, both on the debug address only.
async fn debug_keys_mean_what_they_mean_to_distribution() {
    let section = |port: u16| {
        format!("  debug:\n    addr: 127.0.0.1:{port}\n    prometheus:\n      enabled: true\n      path: /prom\n")
    };
    let peer_port = testkit::registry::free_port();
    let Some(peer) = testkit::registry::Registry::start_with(&section(peer_port)) else {
        return;
    };
    let ours_port = testkit::registry::free_port();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:0\n{}",
        dir.path().display(),
        section(ours_port)
    );
    let config = ocikit_registry::Config::from_yaml(&yaml, "c.yml".as_ref()).unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let ours = config.builder().spawn("127.0.0.1:0").await.unwrap();
    assert_eq!(ours.debug_addr().unwrap().port(), ours_port);
    let h = http();
    for (api, debug) in [
        (peer.addr.clone(), format!("127.0.0.1:{peer_port}")),
        (ours.host(), format!("127.0.0.1:{ours_port}")),
    ] {
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(&debug).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{debug} never listened"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let health = h
            .get(format!("http://{debug}/debug/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "{debug}");
        assert_eq!(health.text().await.unwrap(), "{}", "{debug}");
        let prom = h.get(format!("http://{debug}/prom")).send().await.unwrap();
        assert_eq!(prom.status(), 200, "{debug}");
        assert!(prom.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        parse_prometheus(&prom.text().await.unwrap());
        let on_api = h.get(format!("http://{api}/prom")).send().await.unwrap();
        assert_eq!(on_api.status(), 404, "{api}: metrics on the API listener");
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async metrics_count_a_push_and_a_pull,
    the_storage_size_is_cached_for_its_interval,
    health_fails_when_the_storage_is_gone,
    odd_metrics_paths_are_served_as_written,
    debug_keys_mean_what_they_mean_to_distribution,
];
